"""ref against PyTorch (the seed's classes): a checkpoint written by anbn loads
with load_state_dict, log-probs agree within 1e-6, and one epoch of batch-1
Adam in the same order leaves every parameter within 1e-5.

Drives the `anbn` program (ANBN_CLI, else build/bin/anbn) so it needs no
binding.  Prints the worst differences it saw.
"""
import json
import os
import pathlib
import subprocess

import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed (pip install torch)")
safetensors_torch = pytest.importorskip("safetensors.torch")

from seed_models import SeedModel, log_probs, train_epoch  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
CLI = os.environ.get("ANBN_CLI", str(ROOT / "build" / "dev" / "bin" / "anbn"))
FORWARD_TOL = 1e-6
EPOCH_TOL = 1e-5


def anbn(*args):
    """Runs the anbn program on the ref backend (the one these tests hold to PyTorch)."""
    args = [*map(str, args)]
    if args[0] in ("train", "probe", "eval"):
        args[1:1] = ["--backend", "ref"]
    r = subprocess.run([CLI, *args], capture_output=True, text=True)
    assert r.returncode == 0, f"anbn {' '.join(map(str, args))} failed:\n{r.stderr}"
    return r.stdout


def model_from(path, cell, layers=1):
    sd = safetensors_torch.load_file(str(path))
    state = {k: v for k, v in sd.items() if not k.startswith("optimizer.")}
    m = SeedModel(cell, num_layers=layers)
    m.load_state_dict(state)  # strict: names and shapes must match exactly
    return m, sd


def read_corpus(path):
    return [[int(t) for t in line.split()] for line in open(path) if line.strip()]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("corpus")
    anbn("corpus", "--seed", 7, "--train", d / "train.txt", "--valid", d / "valid.txt")
    return d


@pytest.mark.parametrize("cell,layers", [("rnn", 1), ("lstm", 1), ("gru", 1), ("lstm", 2), ("peephole", 1),
                                         ("peephole", 2)])
def test_forward_matches_pytorch(tmp_path, cell, layers):
    ckpt = tmp_path / "init.safetensors"
    anbn("train", "--cell", cell, "--layers", layers, "--epochs", 0, "--seed", 3, "--save", ckpt)
    model, _ = model_from(ckpt, cell, layers)
    worst = 0.0
    for seq in ([3, 2], [3, 0, 1, 2], [3] + [0] * 7 + [1] * 7 + [2], [3, 0, 0, 1, 1, 1, 0, 2]):
        out = json.loads(anbn("probe", "--model", ckpt, "--sequence", " ".join(map(str, seq)), "--json"))
        ours = torch.tensor(out["log_probs"], dtype=torch.float64)
        theirs = log_probs(model, seq).double()
        assert ours.shape == theirs.shape
        worst = max(worst, (ours - theirs).abs().max().item())
        # hidden states of the top layer are PyTorch's output too
    print(f"\n[{cell} x{layers}] worst forward |ref - torch| = {worst:.3e} (tol {FORWARD_TOL:g})")
    assert worst <= FORWARD_TOL


@pytest.mark.parametrize("cell,clip", [("rnn", None), ("lstm", None), ("gru", None), ("lstm", 0.05), ("peephole", None)])
def test_one_epoch_matches_pytorch(tmp_path, corpus, cell, clip):
    init, after = tmp_path / "init.safetensors", tmp_path / "after.safetensors"
    anbn("train", "--cell", cell, "--epochs", 0, "--seed", 5, "--save", init)
    anbn("train", "--init", init, "--corpus", corpus / "train.txt", "--valid", corpus / "valid.txt",
         "--shuffle", "off", "--epochs", 1, "--clip", clip or 0, "--save", after)
    model, _ = model_from(init, cell)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
    train_epoch(model, optimizer, read_corpus(corpus / "train.txt"), clip=clip)
    ours = safetensors_torch.load_file(str(after))
    worst, worst_name = 0.0, ""
    for name, p in model.state_dict().items():
        d = (ours[name].double() - p.double()).abs().max().item()
        if d >= worst:
            worst, worst_name = d, name
    # Adam state travels in the checkpoint under optimizer.<name>.*
    state = optimizer.state_dict()["state"]
    names = [n for n, _ in model.named_parameters()]
    worst_m = max((ours[f"optimizer.{n}.exp_avg"].double() - state[i]["exp_avg"].double()).abs().max().item()
                  for i, n in enumerate(names))
    print(f"\n[{cell}{f' clip {clip}' if clip else ''}] after one epoch (2000 Adam steps): "
          f"worst |param diff| = {worst:.3e} ({worst_name}), "
          f"worst |exp_avg diff| = {worst_m:.3e} (tol {EPOCH_TOL:g})")
    assert worst <= EPOCH_TOL
    meta = safetensors_torch.safe_open(str(after), "pt").metadata()
    assert int(meta["optimizer.step"]) == 2000 == int(state[0]["step"])


@pytest.mark.parametrize("cell", ["lstm", "peephole"])
def test_pytorch_state_dict_loads_into_anbn(tmp_path, cell):
    """A plain state_dict saved by PyTorch is a valid anbn checkpoint (the
    peephole cell known by its weight_peephole tensors)."""
    torch.manual_seed(0)
    model = SeedModel(cell)
    path = tmp_path / "torch.safetensors"
    safetensors_torch.save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    seq = [3, 0, 0, 0, 1, 1, 1, 2]
    out = json.loads(anbn("probe", "--model", path, "--sequence", " ".join(map(str, seq)), "--json"))
    worst = (torch.tensor(out["log_probs"]).double() - log_probs(model, seq).double()).abs().max().item()
    print(f"\n[torch -> anbn {cell}] worst forward diff = {worst:.3e}")
    assert worst <= FORWARD_TOL


def seed_loop_log_probs(model, seq):
    """The seed's own per-step loop: forward(input, hidden), one symbol at a time."""
    hidden = model.initHidden()
    out = []
    with torch.no_grad():
        for t in range(len(seq) - 1):
            input = torch.LongTensor([seq[t]]).unsqueeze(0)
            output, hidden = model(input, hidden)
            out.append(output[0])
    return torch.stack(out).double()


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_seed_classes_verbatim(tmp_path, cell):
    """The README's recipe on the seed's classes as printed: an anbn checkpoint
    loads with plain load_state_dict after dropping the optimizer.* keys; and a
    state_dict saved from those classes loads into anbn."""
    from seed_classes import CLASSES
    ckpt = tmp_path / "anbn.safetensors"
    anbn("train", "--cell", cell, "--epochs", 1, "--seed", 5, "--save", ckpt)
    sd = safetensors_torch.load_file(str(ckpt))
    model = CLASSES[cell](4, 2, 3)
    model.load_state_dict({k: v for k, v in sd.items() if not k.startswith("optimizer.")})
    seqs = ([3, 0, 1, 2], [3] + [0] * 6 + [1] * 6 + [2], [3, 0, 0, 1, 0, 2])
    worst = 0.0
    for seq in seqs:
        out = json.loads(anbn("probe", "--model", ckpt, "--sequence", " ".join(map(str, seq)), "--json"))
        worst = max(worst, (torch.tensor(out["log_probs"]).double() - seed_loop_log_probs(model, seq)).abs().max().item())
    torch.manual_seed(11)
    fresh = CLASSES[cell](4, 2, 3)
    path = tmp_path / "seed.safetensors"
    safetensors_torch.save_file({k: v.contiguous() for k, v in fresh.state_dict().items()}, str(path))
    back = 0.0
    for seq in seqs:
        out = json.loads(anbn("probe", "--model", path, "--sequence", " ".join(map(str, seq)), "--json"))
        back = max(back, (torch.tensor(out["log_probs"]).double() - seed_loop_log_probs(fresh, seq)).abs().max().item())
    print(f"\n[{cell}] seed class: anbn -> torch {worst:.3e}, torch -> anbn {back:.3e} (tol 1e-5)")
    assert worst <= 1e-5 and back <= 1e-5


def test_02_checkpoints_with_rnn_names_still_load(tmp_path):
    """0.2 saved every cell's recurrent tensors as rnn.*: such files load."""
    ckpt = tmp_path / "new.safetensors"
    anbn("train", "--cell", "lstm", "--epochs", 1, "--save", ckpt)
    sd = safetensors_torch.load_file(str(ckpt))
    meta = safetensors_torch.safe_open(str(ckpt), "pt").metadata()
    old = {k.replace("lstm.", "rnn."): v for k, v in sd.items()}
    assert any(k.startswith("rnn.") for k in old) and any(k.startswith("optimizer.rnn.") for k in old)
    path = tmp_path / "old.safetensors"
    safetensors_torch.save_file(old, str(path), metadata=meta)
    seq = "3 0 0 1 1 2"
    a = json.loads(anbn("probe", "--model", ckpt, "--sequence", seq, "--json"))["log_probs"]
    b = json.loads(anbn("probe", "--model", path, "--sequence", seq, "--json"))["log_probs"]
    assert a == b
    plain = tmp_path / "plain02.safetensors"  # and without metadata: the cell from the gate count
    safetensors_torch.save_file({k: v for k, v in old.items() if not k.startswith("optimizer.")}, str(plain))
    assert json.loads(anbn("probe", "--model", plain, "--sequence", seq, "--json"))["log_probs"] == a
