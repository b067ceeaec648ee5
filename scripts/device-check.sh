#!/usr/bin/env bash
# One prepared run for a machine with an NVIDIA GPU and PyTorch installed, but
# nothing else: builds the core and the torch plugin against that PyTorch's
# libtorch, runs the cross-backend parity tests (torch-cuda against ref), the
# seed-configuration and large-configuration benchmarks, and prints a short
# table.  Needs .device-deps/ (scripts/device-deps.sh) carried with it.
# Everything it prints also goes to $OUT/device-check.txt.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${OUT:-$root/device-out}
mkdir -p "$out"
exec > >(tee "$out/device-check.txt") 2>&1
deps=$root/.device-deps
export PATH=$deps/py/cmake/data/bin:$deps/usr/bin:$PATH
export LD_LIBRARY_PATH=$deps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
t0=$(date +%s)
echo "== device check $(date -u +%FT%TZ) on $(hostname)"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "(no nvidia-smi)"
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())'
torch_dir=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')/Torch
b=$root/build/device
cmake -S . -B "$b" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$deps/usr" \
  -DCMAKE_POLICY_VERSION_MINIMUM=3.5 -DANBN_WITH_ONEDNN=OFF -DANBN_WITH_TORCH=ON -DTorch_DIR="$torch_dir" > "$out/configure.log" 2>&1 \
  || { echo "configure failed:"; tail -30 "$out/configure.log"; exit 1; }
cmake --build "$b" --target anbn anbn-torch anbn-cli test_parity bench_large bench_population -j "$(nproc)" > "$out/build.log" 2>&1 \
  || { echo "build failed:"; grep -E "error" "$out/build.log" | head -30; exit 1; }
echo "built in $(( $(date +%s) - t0 )) s"
export ANBN_BACKEND_PATH=$b/lib/anbn
"$b/bin/anbn" backends
echo "== parity (every available backend against ref; DESIGN.md §6 tolerances)"
timeout 400 "$b/bin/test_parity" > "$out/parity.txt" 2>&1
parity_rc=$?
grep -E "^\[(torch|onednn)|refused|PASSED|FAILED|skipped" "$out/parity.txt" | sort -u
echo "== seed configuration (H=2, batch 1, 2000 sequences): median seconds per epoch"
printf "%-6s %-11s %10s\n" cell backend s/epoch
for cell in rnn lstm; do
  for be in ref torch-cpu torch-cuda; do
    s=$(timeout 120 "$b/bin/anbn" train --backend $be --cell $cell --epochs 3 --json 2>/dev/null | python3 -c \
      'import json,sys,statistics; print("%.4f" % statistics.median(e["seconds"] for e in json.load(sys.stdin)["epochs"]))' 2>/dev/null)
    printf "%-6s %-11s %10s\n" $cell $be "${s:--}"
  done
done
echo "== large configuration (LSTM, H=256, 2 layers, n=1..50, batches of 64)"
# torch-cpu is measured on fewer sequences: it is here to be beaten, not waited for.
timeout 200 "$b/bin/bench_large" --backends ref,torch-cpu --ref-sequences 64 --sequences "${CPU_SEQUENCES:-256}"
timeout 200 "$b/bin/bench_large" --backends torch-cuda --sequences "${GPU_SEQUENCES:-3200}"
echo "== population on torch-cuda (LSTM H=2, one seed epoch; issue 12): P = 1e4 and 1e5"
for P in 10000 100000; do timeout 300 "$b/bin/bench_population" $P 1 lstm torch-cuda; done
echo "== done in $(( $(date +%s) - t0 )) s; parity exit code $parity_rc"
exit $parity_rc
