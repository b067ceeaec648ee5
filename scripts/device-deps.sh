#!/usr/bin/env bash
# Prepares .device-deps/, what scripts/device-check.sh needs on a GPU machine
# that has PyTorch and nothing else (no cmocka, no nlohmann-json, no CMake, no
# network): Debian's .debs unpacked with dpkg -x (cmocka, nlohmann-json,
# ninja), and CMake from its PyPI wheel.  Run here, then carry .device-deps with the device run.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.device-deps
rm -rf "$out" && mkdir -p "$out/debs"
(cd "$out/debs" && apt-get download libcmocka0 libcmocka-dev nlohmann-json3-dev ninja-build >/dev/null 2>&1)
for d in "$out"/debs/*.deb; do dpkg -x "$d" "$out"; done
rm -rf "$out/debs" "$out/usr/share/doc"
python3 -m pip install -q --target "$out/py" cmake  # a manylinux binary: needs only glibc
# The carry limit is 64 MiB: keep the cmake binary and its modules only.
rm -f "$out"/py/cmake/data/bin/{cpack,ctest}
rm -rf "$out"/py/cmake/data/share/cmake-*/Help "$out"/py/cmake/data/doc
du -sh "$out"
