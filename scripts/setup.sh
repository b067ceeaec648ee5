#!/usr/bin/env bash
# Installs everything anbn builds and tests with, from Debian's packages and
# PyPI.  Idempotent: what is already there is not fetched again.
set -euo pipefail

debs=(cmake ninja-build g++ pkg-config libcmocka-dev nlohmann-json3-dev libdnnl-dev clang-14 libclang-rt-14-dev)
# module[:PyPI name]; Dask is the binding's optional extra, tested in CI
py=(numpy torch safetensors pytest tqdm matplotlib "distributed:dask[distributed]")

sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi

missing=()
for d in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$d" 2>/dev/null | grep -q "install ok installed" || missing+=("$d")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
pymissing=()
for p in "${py[@]}"; do
  "$PYTHON" -c "import ${p%%:*}" 2>/dev/null || pymissing+=("${p#*:}")
done
if [ ${#pymissing[@]} -gt 0 ]; then
  echo "setup: installing from PyPI: ${pymissing[*]} (torch is large; this happens once)"
  "$PYTHON" -m pip install -q "${pymissing[@]}"
fi
echo "setup: ready"
