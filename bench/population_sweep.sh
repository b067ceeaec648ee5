#!/usr/bin/env bash
# 1000 seeds x 20 epochs, LSTM at the seed configuration, the default protocol
# (capacity to n = 1000, spot checks at 1e4 and 3e4 for runs that pass):
# anbn sweep's population engine against the independent one, same run.
#   bash bench/population_sweep.sh [build/release/bin/anbn] [seeds]
set -euo pipefail
anbn=${1:-build/release/bin/anbn}
seeds=${2:-0-999}
for engine in population independent; do
  /usr/bin/time -f "$engine: %e s wall, %U s user" "$anbn" sweep --cell lstm --seeds "$seeds" --epochs 20 \
    --engine "$engine" --json > "/tmp/anbn-sweep-$engine.json"
done
python3 - <<'PY'
import json
a, b = (json.load(open(f"/tmp/anbn-sweep-{e}.json")) for e in ("population", "independent"))
strip = lambda d: [{k: v for k, v in r.items() if k != "train_seconds"} for r in d["runs"]]
print("runs identical between the engines:", strip(a) == strip(b), "| median capacity", a["summary"]["median"])
PY
