#!/usr/bin/env python3
"""Seconds per training epoch at the seed configuration (H = 2, batch 1, 2000
sequences of 0^n 1^n), anbn's backends beside the seed's own PyTorch loop,
measured in one run on one machine.  Medians over epochs; ratios are what to
compare (the machines are shared and noisy).

    python3 bench/seed_epoch.py [--backends ref,onednn] [--seed-epochs 2] [--json]
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "python"))


def find_cli():
    for p in (os.environ.get("ANBN_CLI"), ROOT / "build/release/bin/anbn", ROOT / "build/dev/bin/anbn",
              ROOT / "build/bin/anbn"):
        if p and pathlib.Path(p).exists():
            return str(p)
    sys.exit("bench: no anbn program found; build first (cmake --workflow --preset release) or set ANBN_CLI")


def seed_loop_seconds(cell, epochs):
    """The seed's trainRNN/trainLSTM, verbatim in what it computes: numpy corpus,
    np.random.shuffle each epoch, one module call per token, Adam per sequence."""
    import numpy as np
    import torch
    from seed_models import SeedModel, train_epoch

    torch.set_num_threads(1)
    np.random.seed(0)
    torch.manual_seed(0)
    probability = np.array([10, 6, 4, 3, 1, 1, 1, 1, 1, 1], dtype=float)
    probability /= probability.sum()
    train_set = []
    for _ in range(2000):
        n = np.random.choice(range(1, 11), p=probability)
        train_set.append([3] + [0] * n + [1] * n + [2])
    model = SeedModel(cell)
    opt = torch.optim.Adam(model.parameters(), lr=0.001)
    times = []
    for _ in range(epochs):
        np.random.shuffle(train_set)
        t0 = time.perf_counter()
        train_epoch(model, opt, train_set)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def anbn_seconds(cli, backend, cell, epochs):
    """Median seconds per epoch of `anbn train`, and its peak resident memory (MiB)."""
    p = subprocess.Popen([cli, "train", "--backend", backend, "--cell", cell, "--epochs", str(epochs), "--json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = p.communicate()
    if p.returncode != 0:
        return None, None, err.strip().splitlines()[-1] if err.strip() else "failed"
    d = json.loads(out)
    return statistics.median(e["seconds"] for e in d["epochs"]), d.get("peak_rss_mib"), ""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backends", default="", help="comma-separated anbn backends (default: every available one)")
    ap.add_argument("--cells", default="rnn,lstm")
    ap.add_argument("--seed-epochs", type=int, default=2, help="epochs of the seed's PyTorch loop per cell")
    ap.add_argument("--anbn-epochs", type=int, default=20, help="epochs of anbn per cell and backend")
    ap.add_argument("--no-experiment", action="store_true", help="skip timing `anbn experiment`")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    cli = find_cli()
    if not a.backends:
        listing = json.loads(subprocess.run([cli, "backends", "--json"], capture_output=True, text=True,
                                            check=True).stdout)
        a.backends = ",".join(b["name"] for b in listing["backends"] if b["available"])
    rows = []
    for cell in a.cells.split(","):
        peer = seed_loop_seconds(cell, a.seed_epochs)
        rows.append({"cell": cell, "impl": "seed PyTorch loop", "seconds_per_epoch": peer, "speedup": 1.0})
        for b in a.backends.split(","):
            s, rss, why = anbn_seconds(cli, b, cell, a.anbn_epochs)
            rows.append({"cell": cell, "impl": f"anbn {b}", "seconds_per_epoch": s,
                         "speedup": peer / s if s else None, "peak_rss_mib": rss, "note": why})
    result = {"rows": rows}
    if not a.no_experiment:
        t0 = time.perf_counter()
        subprocess.run([cli, "experiment", "--backend", "ref", "--out", "/tmp/anbn-bench-exp", "--json"],
                       check=True, capture_output=True)
        result["experiment_seconds"] = time.perf_counter() - t0
    if a.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{'cell':6} {'implementation':20} {'s/epoch':>10} {'speedup':>9} {'peak RSS':>10}")
    for r in rows:
        s = f"{r['seconds_per_epoch']:.4f}" if r["seconds_per_epoch"] else "-"
        x = f"{r['speedup']:.0f}x" if r["speedup"] else r.get("note", "")
        m = f"{r['peak_rss_mib']:.1f} MiB" if r.get("peak_rss_mib") else ""
        print(f"{r['cell']:6} {r['impl']:20} {s:>10} {x:>9} {m:>10}")
    if "experiment_seconds" in result:
        print(f"anbn experiment --backend ref (RNN 50 + LSTM 20 epochs, probe, capacity, samples): "
              f"{result['experiment_seconds']:.2f} s wall")


if __name__ == "__main__":
    main()
