"""anbn sweep: the JSON contract, the summary, and resuming from the results file."""
import json
import os
import pathlib
import subprocess

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
        assert set(r) >= {"seed", "capacity", "best_epoch", "best_capacity", "failures", "accepted"}
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
