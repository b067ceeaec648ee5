"""The seed experiment as a script and as a notebook both run end to end."""
import json
import pathlib
import subprocess
import sys
import types

ROOT = pathlib.Path(__file__).resolve().parents[3]


def test_seed_experiment_script(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "seed_experiment.py"), "--out", str(tmp_path),
                        "--rnn-epochs", "3", "--lstm-epochs", "2"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "epoch 0, sequence 500, train loss:" in r.stdout and "Diff" in r.stdout
    assert "capacity: rnn" in r.stdout
    for cell in ("rnn", "lstm"):
        assert (tmp_path / f"{cell}.safetensors").stat().st_size > 0
        for kind in ("loss", "hidden", "probe", "capacity"):
            assert (tmp_path / f"{cell}_{kind}.png").stat().st_size > 5000


def test_notebook_cells_run(tmp_path, monkeypatch):
    nb = json.loads((ROOT / "examples" / "seed_experiment.ipynb").read_text())
    assert nb["nbformat"] == 4
    if "IPython" not in sys.modules:  # the notebook only uses IPython.display for pictures
        display = types.ModuleType("IPython.display")
        display.Image = display.display = lambda *a, **k: None
        ipy = types.ModuleType("IPython")
        ipy.display = display
        monkeypatch.setitem(sys.modules, "IPython", ipy)
        monkeypatch.setitem(sys.modules, "IPython.display", display)
    monkeypatch.chdir(tmp_path)
    ns = {}
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            src = "".join(cell["source"]).replace("epochs=50", "epochs=2").replace("epochs=20", "epochs=2")
            exec(compile(src, "seed_experiment.ipynb", "exec"), ns)
    assert (tmp_path / "lstm.safetensors").exists()
