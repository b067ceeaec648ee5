"""anbn sweep (the JSON contract, summary, resuming, training options) and anbn diagnose."""
import json
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CLI = os.environ.get("ANBN_CLI", str(ROOT / "build" / "dev" / "bin" / "anbn"))


def sweep(*args):
    r = subprocess.run([CLI, "sweep", "--backend", "ref", "--epochs", "2", "--max-n", "30", *map(str, args), "--json"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_sweep_json_and_resume(tmp_path):
    results = tmp_path / "runs.jsonl"
    a = sweep("--cell", "lstm", "--seeds", "0-2", "--results", results)
    assert [r["seed"] for r in a["runs"]] == [0, 1, 2] and a["resumed"] == 0
    for r in a["runs"]:
        assert set(r) >= {"seed", "capacity", "best_epoch", "best_capacity", "failures", "accepted", "best_spot_checks"}
        assert 0 <= r["best_valid_margin"] <= 1 and 0 <= r["best_valid_score"] <= 10
        assert 0 <= r["best_epoch"] < 2 and len(r["failures"]) <= 5
        assert r["capacity"] == (r["failures"][0] - 1 if r["failures"] else 30)
        assert r["capacity"] <= r["accepted"] <= 30
    s = a["summary"]
    assert set(s) == {"min", "q1", "median", "q3", "max", "frac_ge_20", "frac_ge_100", "frac_ge_1000"}
    assert s["min"] <= s["q1"] <= s["median"] <= s["q3"] <= s["max"]
    assert len(results.read_text().splitlines()) == 3
    b = sweep("--cell", "lstm", "--seeds", "0-3", "--results", results)  # resumes 0-2, runs 3
    assert b["resumed"] == 3 and [r["seed"] for r in b["runs"]] == [0, 1, 2, 3]
    assert b["runs"][:3] == a["runs"]
    assert len(results.read_text().splitlines()) == 4
    r = subprocess.run([CLI, "sweep", "--cell", "gru", "--seeds", "0", "--epochs", "2", "--max-n", "30",
                        "--results", str(results)], capture_output=True, text=True)
    assert r.returncode != 0 and "another configuration" in r.stderr


def test_sweep_is_reproducible_across_jobs():
    one = sweep("--cell", "rnn", "--seeds", "4-5", "--jobs", "1")
    two = sweep("--cell", "rnn", "--seeds", "4-5", "--jobs", "2")
    strip = lambda d: [{k: v for k, v in r.items() if k != "train_seconds"} for r in d["runs"]]
    assert strip(one) == strip(two)


@pytest.mark.parametrize("opts", [
    ["--cell", "lstm", "--seeds", "0-9", "--epochs", "6"],
    ["--cell", "peephole", "--layers", "2", "--seeds", "3-8", "--lr", "3e-2", "--clip", "1", "--forget-bias", "2",
     "--epochs", "8", "--lr-schedule", "cosine", "--lr-final", "1e-3", "--max-n", "200", "--spot", "300"],
    ["--cell", "gru", "--seeds", "1-5", "--epochs", "10", "--patience", "2", "--lr", "1e-2", "--jobs", "2"],
    ["--cell", "rnn", "--seeds", "0-3", "--batch", "3", "--jobs", "1"]])
def test_sweep_engines_give_the_same_json(opts):
    """The population engine (ref: members in SIMD lanes) and one run per
    thread: every field of the JSON the same, but the times."""
    out = {}
    for engine in ("population", "independent"):
        d = sweep(*opts, "--engine", engine)
        d.pop("wall_seconds")
        for r in d["runs"]:
            assert r.pop("train_seconds") >= 0
        out[engine] = d
    assert out["population"] == out["independent"]


def test_sweep_training_options():
    d = sweep("--cell", "lstm", "--seeds", "0-1", "--forget-bias", "1", "--lr-schedule", "cosine",
              "--lr-final", "1e-4", "--patience", "1")
    assert d["config"]["forget_bias"] == 1 and d["config"]["lr_schedule"] == "cosine"
    for r in d["runs"]:
        assert 1 <= r["epochs_run"] <= 2
        assert r["capacity"] == r["best_capacity"]  # early stopping ends on the best epoch's model
        assert r["margin"] is None or 0 < r["margin"] <= 1
    r = subprocess.run([CLI, "sweep", "--cell", "gru", "--forget-bias", "1", "--seeds", "0"], capture_output=True, text=True)
    assert r.returncode == 2 and "lstm" in r.stderr
    r = subprocess.run([CLI, "sweep", "--cell", "lstm", "--lr-schedule", "wobbly", "--seeds", "0"], capture_output=True,
                       text=True)
    assert r.returncode == 2


def run_cli(*args):
    r = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_diagnose_rnn_fixed_point(tmp_path):
    import numpy as np
    from safetensors.numpy import load_file
    ckpt = tmp_path / "rnn.safetensors"
    run_cli("train", "--backend", "ref", "--cell", "rnn", "--epochs", "2", "--save", ckpt)
    d = json.loads(run_cli("diagnose", "--model", ckpt, "--json"))
    sd = load_file(str(ckpt))
    h = np.array(d["fixed_point"])
    drive = sd["rnn.weight_ih_l0"].astype(float) @ sd["embedding.weight"][0] + sd["rnn.bias_ih_l0"] + sd["rnn.bias_hh_l0"]
    residual = np.abs(np.tanh(drive + sd["rnn.weight_hh_l0"].astype(float) @ h) - h).max()
    assert d["converged"] and residual < 1e-9
    J = (1 - h ** 2)[:, None] * sd["rnn.weight_hh_l0"]
    want = sorted(np.abs(np.linalg.eigvals(J)))
    got = sorted(abs(complex(e["re"], e["im"])) for e in d["eigenvalues"])
    assert np.allclose(got, want, atol=1e-6) and abs(d["spectral_radius"] - want[-1]) < 1e-6


def test_diagnose_lstm(tmp_path):
    ckpt = tmp_path / "lstm.safetensors"
    run_cli("train", "--backend", "ref", "--cell", "lstm", "--epochs", "2", "--save", ckpt)
    d = json.loads(run_cli("diagnose", "--model", ckpt, "--n", "12", "--json"))
    assert d["cell"] == "lstm" and d["n"] == 12 and -1 <= d["unit"]["correlation"] <= 1
    for k in ("min_forget", "min_input"):
        assert 0 <= d[k]["zeros"] <= 1 and 0 <= d[k]["ones"] <= 1
    assert set(d["delta_zeros"]) == {"mean", "std"}
    assert "counter:" in run_cli("diagnose", "--model", ckpt)


def test_sweep_spot_checks_on_another_backend():
    """--spot-backend copies the trained parameters to another backend for the
    spot checks; at small n its verdicts are the training backend's."""
    def run(*extra):
        r = subprocess.run([CLI, "sweep", "--backend", "ref", "--cell", "lstm", "--seeds", "0-3", "--epochs", "2",
                            "--valid-range", "1-1", "--max-n", "1", "--spot", "2,3,40", *extra, "--json"],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)
    a, b = run(), run("--spot-backend", "onednn")
    assert a["config"]["spot_backend"] == "ref" and b["config"]["spot_backend"] == "onednn"
    checked = [r for r in a["runs"] if r["capacity"] >= 1]
    assert checked, "no run passed n = 1: nothing was spot-checked"
    for ra, rb in zip(a["runs"], b["runs"]):
        assert ra["capacity"] == rb["capacity"] and set(ra["spot_checks"]) == set(rb["spot_checks"])
        for n, s in ra["spot_checks"].items():
            assert s["correct"] == rb["spot_checks"][n]["correct"] and abs(s["margin"] - rb["spot_checks"][n]["margin"]) < 1e-4
    for n in ("2", "3", "40"):
        assert a["spot_right"]["final"][n] == sum(r["spot_checks"].get(n, {}).get("correct", False) for r in a["runs"])


def tensors_of(path):
    raw = pathlib.Path(path).read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    return {k: raw[8 + n + v["data_offsets"][0]: 8 + n + v["data_offsets"][1]]
            for k, v in header.items() if k != "__metadata__" and not k.startswith("optimizer.")}


@pytest.mark.parametrize("extra", [[], ["--patience", "1", "--valid-range", "5-8"]])
def test_train_reproduces_a_sweep_run(tmp_path, extra):
    """anbn train takes every training option of anbn sweep, so a sweep's run
    can be reproduced as a model file; sweep --save writes it directly too."""
    opts = ["--cell", "lstm", "--epochs", "4", "--lr", "3e-2", "--clip", "1", "--forget-bias", "2",
            "--lr-schedule", "linear", "--lr-final", "1e-3", *extra]
    out = tmp_path / "runs"
    r = subprocess.run([CLI, "sweep", *opts, "--seeds", "3", "--max-n", "30", "--save", str(out), "--json"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert (out / "seed-3-final.safetensors").exists() and (out / "seed-3-best.safetensors").exists()
    mine = tmp_path / "train.safetensors"
    r = subprocess.run([CLI, "train", *opts, "--backend", "ref", "--seed", "3", "--save", str(mine)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert tensors_of(mine) == tensors_of(out / "seed-3-final.safetensors")  # bit for bit
