#!/usr/bin/env python3
"""anbn.sweep on a Dask LocalCluster (2 worker processes, one thread each)
against the same sweep run locally (`anbn sweep`, 2 threads), same seeds,
same results; prints both wall times.

    python3 bench/dask_sweep.py [--seeds 0-199] [--epochs 20]
"""
import argparse
import pathlib
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="0-199")
    ap.add_argument("--epochs", type=int, default=20)
    a = ap.parse_args()
    sys.path.insert(0, str(ROOT / "build/release/python"))
    import anbn
    from distributed import Client, LocalCluster
    opts = dict(cell="lstm", epochs=a.epochs)
    t0 = time.perf_counter()
    local = anbn.sweep(a.seeds, jobs=2, **opts)
    t_local = time.perf_counter() - t0
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client, tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        spread = anbn.sweep(a.seeds, client=client, results=f"{d}/runs.jsonl", progress=False, **opts)
        t_dask = time.perf_counter() - t0
    strip = lambda d: [{k: v for k, v in r.items() if k != "train_seconds"} for r in d["runs"]]
    print(f"{len(local['runs'])} LSTM runs x {a.epochs} epochs: local {t_local:.1f} s, Dask LocalCluster (2 workers) "
          f"{t_dask:.1f} s; the same runs: {strip(local) == strip(spread)}")


if __name__ == "__main__":
    main()
