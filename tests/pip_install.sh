#!/usr/bin/env bash
# pip install of the checkout into a fresh venv with nothing set, then the
# installed package trains, probes, saves and loads, and the installed command
# runs.  Usage: pip_install.sh SOURCE_DIR WORK_DIR
set -euo pipefail
src=$1 work=$2
rm -rf "$work" && mkdir -p "$work"
python3 -m venv "$work/venv"
clean=(env -i "HOME=$HOME" "PATH=$work/venv/bin:/usr/local/bin:/usr/bin:/bin" "TMPDIR=${TMPDIR:-/tmp}")
"${clean[@]}" pip install -q --disable-pip-version-check "$src"
cd "$work"  # away from the checkout: everything must come from the venv
want=$(sed -n 's/^project(anbn VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
"${clean[@]}" WANT="$want" python - <<'PY'
import os, pathlib
import anbn
assert anbn.__version__ == os.environ["WANT"], (anbn.__version__, os.environ["WANT"])
assert anbn.__file__.startswith(str(pathlib.Path("venv").resolve())), anbn.__file__
print("anbn", anbn.__version__, "from", anbn.__file__)
print("backends:", anbn.backends())
with anbn.Corpus.seed(seed=1) as c, anbn.Model(cell="lstm", backend="ref", seed=1) as m:
    st = m.train_epoch(c.train)
    assert st.sequences == 2000
    p = m.probe([3, 0, 0, 1, 1])
    assert p.log_probs.shape == (5, 3)
    m.save("m.safetensors")
    with anbn.Model.load("m.safetensors", backend="ref") as m2:
        assert m2.info["epoch"] == 1
        assert (m2.probe([3, 0, 1]).log_probs == m.probe([3, 0, 1]).log_probs).all()
print("trained, probed, saved and loaded through the installed package")
PY
"${clean[@]}" anbn --version
"${clean[@]}" anbn backends
"${clean[@]}" anbn train --backend ref --epochs 1 --save m2.safetensors > /dev/null
"${clean[@]}" python -m anbn eval --model m2.safetensors
echo "pip_install: ok"
