#!/usr/bin/env python3
"""Every LSTM training regime tried to make H = 2 (trained on n <= 10 only)
count exactly, measured with `anbn sweep` over seeds 0-9 on ref: capacity at
the final and at the best epoch (chosen on n = 11..20), and how many runs are
also right at n = 1e4 and 3e4 — on ref (float64) and, with the same trained
parameters, on a float32 backend (PyTorch's rounding).  Prints a Markdown
table; each sweep's JSON is kept in --out so a rerun only adds what is new.
--cells compares cells under the same regimes (e.g. lstm,peephole), --only
picks regimes by name.

    python3 bench/capacity_regimes.py [--anbn build/release/bin/anbn] [--out build/regimes]
    python3 bench/capacity_regimes.py --cells lstm,peephole --only "seed settings; lr 3e-2, clip 1, fb 2, 100 ep"
"""
import argparse
import json
import pathlib
import subprocess
import sys

# (what changed from the seed's lr 1e-3 / 20 epochs, sweep options)
REGIMES = [
    ("seed settings", "--epochs 20"),
    ("lr 1e-2", "--lr 1e-2 --epochs 20"),
    ("lr 1e-2, forget bias 1", "--lr 1e-2 --forget-bias 1 --epochs 20"),
    ("lr 1e-2, 60 ep", "--lr 1e-2 --epochs 60"),
    ("lr 1e-2, 60 ep, patience 15", "--lr 1e-2 --epochs 60 --patience 15"),
    ("lr 1e-2 cosine to 1e-4, 40 ep", "--lr 1e-2 --lr-schedule cosine --lr-final 1e-4 --epochs 40"),
    ("lr 3e-2, 40 ep", "--lr 3e-2 --epochs 40"),
    ("lr 3e-2 cosine to 1e-4, 40 ep", "--lr 3e-2 --lr-schedule cosine --lr-final 1e-4 --epochs 40"),
    ("lr 3e-2, batch 4, 40 ep", "--lr 3e-2 --batch 4 --epochs 40"),
    ("lr 3e-2, clip 1, 40 ep", "--lr 3e-2 --clip 1 --epochs 40"),
    ("lr 5e-2, clip 1, 40 ep", "--lr 5e-2 --clip 1 --epochs 40"),
    ("lr 3e-2, fb 1, cosine to 1e-3, 60 ep", "--lr 3e-2 --forget-bias 1 --lr-schedule cosine --lr-final 1e-3 --epochs 60"),
    ("lr 3e-2, clip 0.5, cosine to 1e-3, 60 ep", "--lr 3e-2 --clip 0.5 --lr-schedule cosine --lr-final 1e-3 --epochs 60"),
    ("lr 3e-2, clip 1, fb 1, 60 ep", "--lr 3e-2 --clip 1 --forget-bias 1 --epochs 60"),
    ("lr 5e-2, clip 1, fb 1, 60 ep", "--lr 5e-2 --clip 1 --forget-bias 1 --epochs 60"),
    ("lr 3e-2, clip 1, fb 1, 100 ep", "--lr 3e-2 --clip 1 --forget-bias 1 --epochs 100"),
    ("lr 3e-2, clip 1, fb 1, 100 ep, cosine to 1e-3", "--lr 3e-2 --clip 1 --forget-bias 1 --epochs 100 --lr-schedule cosine --lr-final 1e-3"),
    ("lr 3e-2, clip 0.25, fb 1, 100 ep", "--lr 3e-2 --clip 0.25 --forget-bias 1 --epochs 100"),
    ("lr 3e-2, clip 1, fb 1, batch 2, 100 ep", "--lr 3e-2 --clip 1 --forget-bias 1 --batch 2 --epochs 100"),
    ("lr 2e-2, clip 1, fb 1, 150 ep", "--lr 2e-2 --clip 1 --forget-bias 1 --epochs 150"),
    ("lr 1e-2, clip 1, fb 1, 200 ep", "--lr 1e-2 --clip 1 --forget-bias 1 --epochs 200"),
    ("lr 3e-2, clip 1, fb 1, 200 ep", "--lr 3e-2 --clip 1 --forget-bias 1 --epochs 200"),
    ("lr 3e-2, clip 1, fb 1, 300 ep", "--lr 3e-2 --clip 1 --forget-bias 1 --epochs 300"),
    ("lr 3e-2, clip 1, fb 2, 100 ep", "--lr 3e-2 --clip 1 --forget-bias 2 --epochs 100"),
    ("lr 3e-2, clip 1, fb 2, 100 ep, valid 11..100", "--lr 3e-2 --clip 1 --forget-bias 2 --epochs 100 --valid-range 11-100"),
    ("lr 3e-2, clip 1, fb 2, batch 2, 100 ep", "--lr 3e-2 --clip 1 --forget-bias 2 --batch 2 --epochs 100"),
    ("lr 3e-2, clip 1, fb 2, 200 ep", "--lr 3e-2 --clip 1 --forget-bias 2 --epochs 200"),
    ("lr 2e-2, clip 1, fb 2, 150 ep", "--lr 2e-2 --clip 1 --forget-bias 2 --epochs 150"),
    ("lr 3e-2, clip 1, fb 3, 100 ep", "--lr 3e-2 --clip 1 --forget-bias 3 --epochs 100"),
]


def spot(run, key, n):
    return bool(run[key]) and run[key].get(str(n), {}).get("correct", False)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    root = pathlib.Path(__file__).resolve().parents[1]
    ap.add_argument("--anbn", default=str(root / "build/release/bin/anbn"), help="the anbn program")
    ap.add_argument("--out", default=str(root / "build/regimes"), help="where each sweep's JSON is kept")
    ap.add_argument("--seeds", default="0-9")
    ap.add_argument("--float32-backend", default="onednn", help="backend for the float32 spot checks")
    ap.add_argument("--cells", default="lstm", help="comma-separated cells, each under every regime")
    ap.add_argument("--only", default="", help="regime names to run, separated by ';'")
    a = ap.parse_args()
    out = pathlib.Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    cells = a.cells.split(",")
    wanted = [w.strip() for w in a.only.split(";") if w.strip()]
    regimes = [(n, o) for n, o in REGIMES if not wanted or n in wanted]
    print("| regime (H = 2, seeds %s) |%s final K: median | K ≥ 1000 | right at 1e4 / 3e4, ref | "
          "right at 1e4 / 3e4, %s | best-epoch K ≥ 1000 | wall |" % (a.seeds, " cell |" * (len(cells) > 1),
                                                                      a.float32_backend))
    print("|---|---|---|---|---|---|---|" + "---|" * (len(cells) > 1))
    for (name, opts), cell in ((r, c) for r in regimes for c in cells):
        tag = "" if cell == "lstm" else cell + "_"
        f = out / (tag + opts.replace("--", "").replace(" ", "_") + ".json")
        if not f.exists():
            print(f"running: {cell}, {name}", file=sys.stderr, flush=True)
            args = [a.anbn, "sweep", "--cell", cell, "--backend", "ref", "--seeds", a.seeds, *opts.split(), "--json"]
            ref = subprocess.run(args, capture_output=True, text=True, check=True)
            f32 = subprocess.run(args + ["--spot-backend", a.float32_backend], capture_output=True, text=True, check=True)
            f.write_text(json.dumps({"ref": json.loads(ref.stdout), "float32": json.loads(f32.stdout)}))
        d = json.loads(f.read_text())
        r, g = d["ref"]["runs"], d["float32"]["runs"]
        k = sum(x["capacity"] >= 1000 for x in r)
        kb = sum(x["best_capacity"] >= 1000 for x in r)
        print(f"| {name} |{f' {cell} |' * (len(cells) > 1)} {d['ref']['summary']['median']:g} | {k}/10 | "
              f"{sum(spot(x, 'spot_checks', 10000) for x in r)} / {sum(spot(x, 'spot_checks', 30000) for x in r)} | "
              f"{sum(spot(x, 'spot_checks', 10000) for x in g)} / {sum(spot(x, 'spot_checks', 30000) for x in g)} | "
              f"{kb}/10 | {d['ref']['wall_seconds']:.1f} s |", flush=True)


if __name__ == "__main__":
    main()
