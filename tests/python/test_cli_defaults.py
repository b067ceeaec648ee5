"""Every subcommand run with its documented defaults (only the required
arguments), Ctrl-C in `anbn train`, and integer options that must not wrap."""
import json
import os
import pathlib
import signal
import subprocess
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CLI = os.environ.get("ANBN_CLI", str(ROOT / "build" / "dev" / "bin" / "anbn"))


def run(*args, cwd=None, ok=True, timeout=300):
    r = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=timeout)
    if ok:
        assert r.returncode == 0, f"anbn {' '.join(map(str, args))}: {r.stderr}"
    return r


def epochs_in(path):
    raw = pathlib.Path(path).read_bytes()
    n = int.from_bytes(raw[:8], "little")
    return int(json.loads(raw[8:8 + n])["__metadata__"]["anbn.epoch"])


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "lstm.safetensors"
    run("train", "--cell", "lstm", "--backend", "ref", "--epochs", "2", "--save", path)
    return path


def test_train_defaults(tmp_path):
    r = run("train", "--backend", "ref", "--json", cwd=tmp_path)  # rnn, H = 2, 20 epochs, seed 1
    j = json.loads(r.stdout)
    assert len(j["epochs"]) == 20 and j["backend"] == "ref"


def test_eval_defaults_to_the_seed_validation_set(model):
    j = json.loads(run("eval", "--model", model, "--json").stdout)
    assert j["sequences"] == 202  # 200 drawn + n = 11, 12


def test_probe_capacity_generate_diagnose_defaults(model):
    assert "Diff" in run("probe", "--model", model, "--max-n", "3").stdout
    cap = json.loads(run("capacity", "--model", model, "--json").stdout)
    assert cap["max_n"] == 1000 or cap["first_failure"] > 0
    gen = json.loads(run("generate", "--model", model, "--json").stdout)
    assert len(gen["samples"]) == 10
    assert run("diagnose", "--model", model).stdout.strip()


def test_corpus_defaults(tmp_path):
    run("corpus", cwd=tmp_path)
    assert len((tmp_path / "train.txt").read_text().splitlines()) == 2000
    assert len((tmp_path / "valid.txt").read_text().splitlines()) == 202


def test_sweep_defaults(tmp_path):
    j = json.loads(run("sweep", "--seeds", "0-1", "--epochs", "1", "--json", cwd=tmp_path).stdout)
    assert [r["seed"] for r in j["runs"]] == [0, 1]  # cell lstm, backend ref, max-n 1000 by default


def test_experiment_and_backends_defaults(tmp_path):
    r = run("experiment", cwd=tmp_path)
    assert (tmp_path / "anbn-experiment" / "experiment.json").exists(), r.stdout
    assert "ref" in run("backends").stdout


@pytest.mark.parametrize("args", [["train", "--hidden", "4294967298"], ["train", "--seed", "-1"],
                                  ["train", "--epochs", "99999999999"], ["train", "--lr", "1e999"],
                                  ["probe", "--model", "MODEL", "--sequence", "3 4294967297 2"],
                                  ["capacity", "--model", "MODEL", "--max-n", "999999999"]])
def test_integers_are_range_checked(args, model):
    r = run(*[model if a == "MODEL" else a for a in args], ok=False)
    assert r.returncode == 2 and ("needs" in r.stderr or "must" in r.stderr), r.stderr


def test_save_directory_checked_before_training(tmp_path):
    t0 = time.time()
    r = run("train", "--backend", "ref", "--epochs", "1000", "--save", tmp_path / "missing" / "m.safetensors", ok=False)
    assert r.returncode == 1 and "cannot write" in r.stderr and time.time() - t0 < 5


def test_save_every(tmp_path):
    path = tmp_path / "m.safetensors"
    r = run("train", "--backend", "ref", "--epochs", "4", "--save-every", "2", "--save", path)
    assert r.stderr.count(f"saved {path}") == 2 and epochs_in(path) == 4


def train_until_interrupted(tmp_path, signals):
    path = tmp_path / "m.safetensors"
    p = subprocess.Popen([CLI, "train", "--cell", "lstm", "--hidden", "16", "--backend", "ref", "--epochs", "100000",
                          "--save", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline:  # wait until a few epochs are done
        line = p.stdout.readline()
        if line.startswith("epoch 3,"):
            break
    t0 = time.time()
    for _ in range(signals):
        p.send_signal(signal.SIGINT)
        time.sleep(0.001)
    out, err = p.communicate(timeout=60)
    return p.returncode, err, path, time.time() - t0


def test_ctrl_c_saves_the_last_finished_epoch(tmp_path):
    rc, err, path, _ = train_until_interrupted(tmp_path, 1)
    assert rc == 130, err
    assert f"saved {path}" in err and "interrupted" in err
    assert epochs_in(path) >= 3
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".anbn")]  # no temporary file left


def test_second_ctrl_c_exits_at_once(tmp_path):
    rc, err, path, seconds = train_until_interrupted(tmp_path, 2)
    assert rc in (130, -signal.SIGINT) and seconds < 5, err


@pytest.mark.parametrize("engine", ["independent", "population"])
def test_ctrl_c_in_sweep_keeps_finished_runs(tmp_path, engine):
    """independent: the runs finished before Ctrl-C stay in --results;
    population: a population's runs finish together, so Ctrl-C during its
    epochs drops it whole.  Either way no half line, and a rerun resumes."""
    results = tmp_path / "runs.jsonl"
    args = [CLI, "sweep", "--cell", "lstm", "--hidden", "8", "--seeds", "0-199", "--epochs", "20", "--max-n", "30",
            "--jobs", "2", "--results", str(results), "--engine", engine]
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + (120 if engine == "independent" else 1.5)
    while time.time() < deadline and not (results.exists() and results.read_text().count("\n") >= 2):
        time.sleep(0.05)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130 and "interrupted" in err, err
    lines = results.read_text().splitlines() if results.exists() else []
    assert (2 if engine == "independent" else 0) <= len(lines) < 200
    for line in lines:  # every line a whole run: nothing half-written
        assert json.loads(line)["run"]["seed"] in range(200)
    r = subprocess.run(args[:7] + ["0-1"] + args[8:] + ["--json"], capture_output=True, text=True)  # resumes
    assert r.returncode == 0, r.stderr
    done = {json.loads(line)["run"]["seed"] for line in lines}
    assert json.loads(r.stdout)["resumed"] == len(done & {0, 1})
