#!/usr/bin/env python3
"""Where `auto` switches from ref to onednn: seconds per training epoch of the
seed corpus (2000 sequences, n <= 10) on both backends, per cell, hidden width
H and batch size, measured in one run.  Medians of --repeat runs of one epoch
(after a warm-up epoch).  Prints a table and the smallest H at which onednn is
faster for each (cell, batch); src/registry.cpp's rule is taken from it.

    python3 bench/auto_rule.py [--hidden 2,8,16,32,64,128] [--batch 1,16] [--json]
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[1]


def cli():
    for p in (os.environ.get("ANBN_CLI"), ROOT / "build/release/bin/anbn", ROOT / "build/dev/bin/anbn"):
        if p and pathlib.Path(p).exists():
            return str(p)
    raise SystemExit("bench: build first (cmake --workflow --preset release) or set ANBN_CLI")


def epoch_seconds(exe, backend, cell, hidden, batch, repeat):
    r = subprocess.run([exe, "train", "--backend", backend, "--cell", cell, "--hidden", str(hidden), "--batch",
                        str(batch), "--epochs", str(repeat + 1), "--json"], capture_output=True, text=True, check=True)
    secs = [e["seconds"] for e in json.loads(r.stdout)["epochs"]][1:]
    return statistics.median(secs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hidden", default="2,8,16,32,64,128")
    ap.add_argument("--batch", default="1,16")
    ap.add_argument("--cells", default="rnn,lstm")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    exe = cli()
    rows, crossover = [], {}
    for cell in a.cells.split(","):
        for batch in map(int, a.batch.split(",")):
            for h in map(int, a.hidden.split(",")):
                ref = epoch_seconds(exe, "ref", cell, h, batch, a.repeat)
                od = epoch_seconds(exe, "onednn", cell, h, batch, a.repeat)
                rows.append({"cell": cell, "batch": batch, "hidden": h, "ref_s": ref, "onednn_s": od, "ratio": ref / od})
                if od < ref and (cell, batch) not in crossover:
                    crossover[(cell, batch)] = h
    if a.json:
        print(json.dumps({"rows": rows, "crossover": {f"{c}/b{b}": h for (c, b), h in crossover.items()}}, indent=2))
        return
    print(f"{'cell':5} {'batch':>5} {'H':>5} {'ref s/epoch':>12} {'onednn s/epoch':>15} {'ref/onednn':>11}")
    for r in rows:
        print(f"{r['cell']:5} {r['batch']:5d} {r['hidden']:5d} {r['ref_s']:12.4f} {r['onednn_s']:15.4f} {r['ratio']:11.2f}")
    for (c, b), h in crossover.items():
        print(f"onednn first faster: {c}, batch {b}: H = {h}")


if __name__ == "__main__":
    main()
