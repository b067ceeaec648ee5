"""The Python binding: every call, numpy shapes and dtypes, errors, handle
lifetimes, plots, and PyTorch interop."""
import gc
import math

import numpy as np
import pytest

import anbn

SEQ = [3, 0, 0, 1, 1, 2]


@pytest.fixture(scope="module")
def corpus():
    with anbn.Corpus.seed(seed=2) as c:
        yield c


@pytest.fixture
def lstm():
    with anbn.Model(cell="lstm", backend="ref", hidden=2, layers=1, seed=1, lr=1e-3, batch=1) as m:
        yield m


def test_ctypes_structures_match_the_c_layout():
    import ctypes
    import json
    import os
    import subprocess
    from anbn import _lib
    exe = os.environ.get("ANBN_STRUCT_LAYOUT")
    if not exe:
        pytest.fail("ANBN_STRUCT_LAYOUT is not set (ctest sets it to the struct_layout program)")
    c = json.loads(subprocess.run([exe], capture_output=True, text=True, check=True).stdout)
    pairs = {"anbn_backend_info": _lib.BackendInfo, "anbn_corpus_config": _lib.CorpusConfig, "anbn_config": _lib.Config,
             "anbn_model_info": _lib.ModelInfo, "anbn_progress": _lib.Progress, "anbn_epoch_stats": _lib.EpochStats,
             "anbn_eval_stats": _lib.EvalStats, "anbn_probe_buffers": _lib.ProbeBuffers,
             "anbn_capacity_row": _lib.CapacityRow, "anbn_capacity_row_v2": _lib.CapacityRowV2,
             "anbn_capacity_result": _lib.CapacityResult, "anbn_generate_config": _lib.GenerateConfig}
    assert set(pairs) == set(c)
    for name, cls in pairs.items():
        assert ctypes.sizeof(cls) == c[name]["size"], name
        py = {f[0]: getattr(cls, f[0]).offset for f in cls._fields_}
        assert py == c[name]["fields"], name


def test_version_and_backends():
    assert anbn.version().count(".") == 2
    bs = anbn.backends()
    assert ("ref", True, "") in bs
    for name, available, reason in bs:
        assert isinstance(name, str) and isinstance(available, bool)
        assert available or reason


def test_corpus_api(corpus, tmp_path):
    assert len(corpus.train) == 2000 and len(corpus.valid) == 202
    assert corpus.train.alphabet == 2
    s = corpus.train[0]
    assert s[0] == 3 and s[-1] == 2 and corpus.train[-1] == list(corpus.train)[-1]
    with pytest.raises(IndexError):
        corpus.train[2000]
    again = anbn.Corpus.seed(seed=2)
    assert list(again.train) == list(corpus.train)  # bit-for-bit reproducible
    again.close()
    c2 = anbn.Corpus.from_sequences([[3, 0, 1, 2], [3, 0, 0, 1, 1, 2]])
    assert len(c2) == 2 and c2[1] == SEQ
    g = anbn.Corpus.generate(language="anbncn", count=30, seed=1, max_n=3)
    assert len(g) == 30 and g.alphabet == 3 and all(x[0] == 4 for x in g)
    path = tmp_path / "c.txt"
    c2.save(path)
    assert list(anbn.Corpus.load(path)) == list(c2)
    assert anbn.language_sequence(2) == SEQ


def test_corpus_errors(tmp_path):
    with pytest.raises(anbn.Error) as e:
        anbn.Corpus.from_sequences([[3, 0, 7, 2]])
    assert e.value.status == "ANBN_ERR_INVALID_ARGUMENT" and "token 7" in str(e.value)
    bad = tmp_path / "bad.txt"
    bad.write_text("3 0 1 2\n3 0 x 2\n")
    with pytest.raises(anbn.Error) as e:
        anbn.Corpus.load(bad)
    assert e.value.status == "ANBN_ERR_FORMAT" and ":2:" in e.value.message
    with pytest.raises(anbn.Error) as e:
        anbn.Corpus.load(tmp_path / "missing.txt")
    assert e.value.status == "ANBN_ERR_IO"
    with pytest.raises(anbn.Error):
        anbn.Corpus.generate(min_n=0)


def test_model_and_info(lstm):
    i = lstm.info
    assert (i["cell"], i["hidden"], i["layers"], i["gates"], i["backend"]) == ("lstm", 2, 1, 4, "ref")
    assert i["vocab_size"] == 4 and i["output_size"] == 3
    assert "lstm" in repr(lstm)
    with pytest.raises(anbn.Error) as e:
        anbn.Model(cell="lstm", lr=float("nan"))
    assert "lr" in str(e.value)
    with pytest.raises(anbn.Error) as e:
        anbn.Model(backend="no-such")
    assert e.value.status == "ANBN_ERR_BACKEND_UNAVAILABLE"
    with pytest.raises(anbn.Error):
        anbn.Model(cell="transformer")


def test_train_evaluate_progress(lstm, corpus):
    seen = []
    st = lstm.train_epoch(corpus.train, progress=lambda p: seen.append(p["done"]))
    assert isinstance(st, anbn.EpochStats)
    assert st.sequences == 2000 and st.batches == 2000 and st.epoch == 0 and st.seconds > 0
    assert seen == [1, 501, 1001, 1501, 2000]
    st2 = lstm.train_epoch(corpus.train, progress=True)  # a bar (tqdm or text)
    assert st2.epoch == 1 and math.isfinite(st2.mean_loss)
    ev = lstm.evaluate(corpus.valid)
    assert ev.sequences == 202 and 0 <= ev.error_rate <= 1
    assert ev.deterministic_errors <= ev.errors <= ev.positions
    assert ev.errors_per_sequence == pytest.approx(ev.errors / 202)
    before = lstm.parameters()
    with pytest.raises(anbn.Error) as e:
        lstm.train_epoch(corpus.train, progress=lambda p: p["done"] > 600)
    assert e.value.status == "ANBN_ERR_CANCELLED"
    after = lstm.parameters()
    assert all(np.array_equal(before[k], after[k]) for k in before)  # rolled back

    def boom(p):
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):  # the callback's exception surfaces, the model is intact
        lstm.train_epoch(corpus.train, progress=boom)
    assert lstm.info["epoch"] == 2


def test_ctrl_c_during_training_raises_keyboard_interrupt():
    """A real SIGINT while C code trains (no progress display): KeyboardInterrupt,
    the model as after its last finished epoch, then fit goes on normally."""
    import os
    import signal
    import threading
    with anbn.Corpus.generate(count=40000, seed=1, max_n=30) as big, \
            anbn.Model(cell="lstm", backend="ref", hidden=16, seed=4) as m:
        m.train_epoch(big)
        before = m.parameters()
        threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
        with pytest.raises(KeyboardInterrupt):
            m.fit(big, epochs=1000)  # minutes of work: the signal lands inside an epoch
        assert m.info["epoch"] >= 1
        if m.info["epoch"] == 1:
            after = m.parameters()
            assert all(np.array_equal(before[k], after[k]) for k in before)
        assert m.train_epoch(big).epoch == m.info["epoch"] - 1


def test_fit_history(corpus):
    with anbn.Model(cell="rnn", seed=3) as m:
        h = m.fit(corpus.train, corpus.valid, epochs=2)
    assert [r["epoch"] for r in h] == [0, 1]
    assert {"train_loss", "valid_loss", "error_rate", "errors", "positions", "seconds"} <= set(h[0])


def test_probe_shapes_and_step(lstm):
    p = lstm.probe(SEQ)
    assert p.log_probs.shape == (6, 3) and p.log_probs.dtype == np.float32
    assert p.hidden.shape == (6, 1, 2) and p.cell.shape == (6, 1, 2) and p.gates.shape == (6, 1, 8)
    assert np.allclose(np.exp(p.log_probs).sum(axis=1), 1, atol=1e-5)
    s = lstm.state()
    for t, tok in enumerate(SEQ):
        lp = lstm.step(s, tok)
        assert lp.shape == (3,) and lp.dtype == np.float32
        np.testing.assert_allclose(lp, p.log_probs[t], atol=1e-6)
        np.testing.assert_allclose(s.hidden, p.hidden[t], atol=1e-6)
        np.testing.assert_allclose(s.cell, p.cell[t], atol=1e-6)
    s.reset()
    assert not s.hidden.any()
    with pytest.raises(anbn.Error) as e:
        lstm.step(s, 9)
    assert "token 9" in str(e.value)
    with pytest.raises(anbn.Error) as e:
        lstm.probe([3, 0, 5])
    assert "token 5" in str(e.value) and e.value.status == "ANBN_ERR_INVALID_ARGUMENT"
    with pytest.raises(anbn.Error):
        lstm.probe([])
    with anbn.Model(cell="rnn", layers=2, hidden=3) as rnn:
        q = rnn.probe(SEQ)
        assert q.cell is None and q.gates is None and q.hidden.shape == (6, 2, 3)
    with anbn.Model(cell="gru") as gru:
        q = gru.probe(SEQ)
        assert q.cell is None and q.gates.shape == (6, 1, 6)
    with anbn.Model(cell="peephole", layers=2) as peephole:
        q = peephole.probe(SEQ)
        assert q.cell.shape == (6, 2, 2) and q.gates.shape == (6, 2, 8) and q.gate_rows == "ifgo"
        assert peephole.cell == "peephole" and "lstm.weight_peephole_l1" in peephole.parameters()
    # the core's analysis: the argmax of each row, and the deterministic positions of 0^2 1^2
    assert (p.argmax == p.log_probs.argmax(axis=1)).all()
    assert p.deterministic.tolist() == [True, False, False, True, True, True]


def test_capacity_generate(lstm):
    c = lstm.capacity(max_n=50)
    assert c.max_n == 50 and c.n.tolist() == list(range(1, 51))
    assert c.errors.shape == (50,) and (c.deterministic_errors <= c.errors).all()
    assert c.capacity == (c.first_failure - 1 if c.first_failure else 50)
    with pytest.raises(anbn.Error):
        lstm.capacity(max_n=0)
    g = lstm.generate(count=10, temperature=1.0, seed=0)
    assert len(g) == 10 and all(s[0] == 3 for s in g) and 0 <= g.valid_fraction <= 1
    assert lstm.generate(count=10, seed=0).samples == g.samples
    greedy = lstm.generate(count=2, temperature=0)
    assert greedy.samples[0] == greedy.samples[1]
    with pytest.raises(anbn.Error):
        lstm.generate(temperature=-1)


def test_capacity_margin_and_spot_checks(lstm):
    c = lstm.capacity(max_n=30)
    assert c.min_prob.shape == (30,) and c.min_prob.dtype == np.float32
    assert ((0 < c.min_prob) & (c.min_prob <= 1)).all()
    # an n with a deterministic error gave some right symbol less than an even share
    assert (c.min_prob[c.deterministic_errors > 0] < 0.5 + 1e-6).all()
    assert c.margin is None if c.capacity == 0 else c.margin == c.min_prob[:c.capacity].min()
    spots = lstm.capacity_at([5, 17, 2000])
    assert [s["n"] for s in spots] == [5, 17, 2000] and spots[2]["positions"] == 4001
    for s in spots[:2]:  # the same numbers as the scan's rows
        row = s["n"] - 1
        assert s["deterministic_errors"] == c.deterministic_errors[row] and s["errors"] == c.errors[row]
        assert abs(s["min_prob"] - c.min_prob[row]) < 1e-6
    with pytest.raises(anbn.Error, match="1..1e6"):
        lstm.capacity_at([3, 0])


def _close(a, b, path=""):
    if isinstance(a, dict):
        assert set(a) == set(b), path
        for k in a:
            _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert abs(a - b) <= 1e-6, f"{path}: {a} vs {b}"
    else:
        assert a == b, path


def test_diagnose_matches_an_independent_oracle(tmp_path, corpus):
    """Model.diagnose and `anbn diagnose --json` (both anbn_diagnose, C++) against
    the same diagnosis computed independently in numpy over the probe."""
    import json
    import os
    import pathlib
    import subprocess
    from diagnose_oracle import diagnose as oracle
    cli = os.environ.get("ANBN_CLI", str(pathlib.Path(__file__).resolve().parents[3] / "build/dev/bin/anbn"))
    for cell in ("rnn", "lstm", "gru"):
        with anbn.Model(cell=cell, seed=4, lr=1e-2, backend="ref") as m:
            m.fit(corpus.train, epochs=3)
            ckpt = tmp_path / f"{cell}.safetensors"
            m.save(ckpt)
            d = m.diagnose(12)
            want = oracle(m, 12)
        if cell == "rnn":  # the fixed-point iteration may stop one step apart
            assert d["converged"] and want["converged"] and abs(d.pop("iterations") - want.pop("iterations")) <= 2
        _close(d, want, cell)
        if os.path.exists(cli):  # the command prints the same document
            r = subprocess.run([cli, "diagnose", "--model", str(ckpt), "--backend", "ref", "--n", "12", "--json"],
                               capture_output=True, text=True)
            assert r.returncode == 0, r.stderr
            got = json.loads(r.stdout)
            got.pop("iterations", None)
            _close(d, got, cell)
        print(f"{cell}: anbn_diagnose == the numpy oracle within 1e-6")
    with anbn.Model(cell="lstm") as m, pytest.raises(ValueError):
        m.diagnose(0)


def test_parameters(lstm):
    ps = lstm.parameters()
    assert list(ps) == ["embedding.weight", "lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0",
                        "lstm.bias_hh_l0", "fc.weight", "fc.bias"]
    assert ps["lstm.weight_ih_l0"].shape == (8, 2) and ps["fc.bias"].dtype == np.float32
    lstm.set_parameter("fc.bias", np.array([1, 2, 3]))
    assert lstm.parameters()["fc.bias"].tolist() == [1, 2, 3]
    with pytest.raises(anbn.Error):
        lstm.set_parameter("fc.bias", np.zeros(4))
    with pytest.raises(anbn.Error):
        lstm.set_parameter("fc.bias", np.array([1, np.nan, 3]))
    with pytest.raises(anbn.Error):
        lstm.set_parameter("nope", np.zeros(3))
    loss, grads = lstm.gradients(SEQ)
    assert loss > 0 and grads["fc.weight"].shape == (3, 2)


def test_state_dict_round_trip():
    with anbn.Model(cell="gru", backend="ref", seed=2) as a, anbn.Model(cell="gru", backend="ref", seed=9) as b:
        sd = a.state_dict()
        assert list(sd)[1] == "gru.weight_ih_l0"
        b.load_state_dict(sd)
        assert all(np.array_equal(sd[k], v) for k, v in b.state_dict().items())
        before = b.state_dict()
        with pytest.raises(anbn.Error):
            b.load_state_dict({k: v for k, v in sd.items() if k != "fc.bias"})  # missing: nothing changes
        with pytest.raises(anbn.Error):
            b.load_state_dict({**sd, "extra.weight": sd["fc.bias"]})
        assert all(np.array_equal(before[k], v) for k, v in b.state_dict().items())
        legacy = {k.replace("gru.", "rnn."): v for k, v in sd.items()}  # 0.2's names
        b.load_state_dict(legacy)
    torch = pytest.importorskip("torch")
    with anbn.Model(cell="lstm", backend="ref") as m:
        m.load_state_dict({k: torch.from_numpy(v) for k, v in m.state_dict().items()})


def test_save_load(lstm, corpus, tmp_path):
    lstm.train_epoch(corpus.train)
    path = tmp_path / "m.safetensors"
    lstm.save(path)
    with anbn.Model.load(path, backend="ref") as back:
        assert back.info["epoch"] == 1 and back.info["adam_step"] == 2000
        a, b = lstm.parameters(), back.parameters()
        assert all(np.array_equal(a[k], b[k]) for k in a)
        assert lstm.train_epoch(corpus.train).mean_loss == back.train_epoch(corpus.train).mean_loss
    (tmp_path / "bad.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{}")
    with pytest.raises(anbn.Error) as e:
        anbn.Model.load(tmp_path / "bad.safetensors")
    assert e.value.status == "ANBN_ERR_FORMAT"


def test_no_handle_leaks(corpus):
    gc.collect()
    base = anbn.live_handles()
    for _ in range(20):
        m = anbn.Model(cell="gru")
        s = m.state()
        m.step(s, 3)
        m.generate(count=2)
        c = anbn.Corpus.from_sequences([SEQ])
        del m, s, c
    gc.collect()
    assert anbn.live_handles() == base
    with anbn.Model() as m:
        pass
    assert m.closed and anbn.live_handles() == base
    m.close()  # idempotent
    with pytest.raises(anbn.Error):
        m.info


def _not_blank(path):
    import matplotlib.image as mpimg
    img = mpimg.imread(str(path))
    assert path.stat().st_size > 5000
    assert img.reshape(-1, img.shape[-1])[:, :3].std() > 0.05  # more than one colour


def test_plots(tmp_path, corpus):
    import anbn.plot
    with anbn.Model(cell="lstm", seed=1) as m:
        history = m.fit(corpus.train, corpus.valid, epochs=2)
        figs = [
            anbn.plot.loss_curves(history, path=tmp_path / "loss.png"),
            anbn.plot.hidden_trajectory(m, n_values=[3, 6, 9], path=tmp_path / "hidden.png"),
            anbn.plot.probe_heatmap(m.probe(anbn.language_sequence(5)[:-1]), path=tmp_path / "probe.png"),
            anbn.plot.capacity(m.capacity(max_n=40), path=tmp_path / "capacity.png"),
            anbn.plot.counter(m, n=12, path=tmp_path / "counter_lstm.png"),
        ]
    with anbn.Model(cell="gru", hidden=4) as g:  # H > 2: principal components
        figs.append(anbn.plot.hidden_trajectory(g, path=tmp_path / "hidden_pca.png"))
        figs.append(anbn.plot.counter(g, n=12, path=tmp_path / "counter_gru.png"))
    with anbn.Model(cell="rnn", seed=2) as r:
        r.fit(corpus.train, epochs=2)
        figs.append(anbn.plot.counter(r, n=12, path=tmp_path / "counter_rnn.png"))
        stats = [r.train_epoch(corpus.train) for _ in range(3)]  # what train_epoch returns, as well as fit's history
        figs.append(anbn.plot.loss_curves(stats, path=tmp_path / "loss_stats.png"))
        figs.append(anbn.plot.loss_curves(stats[-1], path=tmp_path / "loss_one.png"))
        rnn_heat = anbn.plot.probe_heatmap(r.probe([3, 0, 0, 1]), path=tmp_path / "probe_rnn.png")
    for name in ("loss", "hidden", "probe", "capacity", "hidden_pca", "counter_lstm", "counter_gru", "counter_rnn",
                 "loss_stats", "loss_one", "probe_rnn"):
        _not_blank(tmp_path / f"{name}.png")
    assert all(f is not None for f in figs)
    for ax in figs[-2].axes:  # integer epoch ticks
        assert all(float(t).is_integer() for t in ax.get_xticks())
    lstm_heat = figs[2]
    images = [im for ax in lstm_heat.axes for im in ax.images]
    assert len(images) == 2 and images[1].get_clim() == (0.0, 1.0)  # gates: a 0..1 scale of their own
    assert images[0].get_clim()[0] < 0 < images[0].get_clim()[1]
    titles = " ".join(ax.get_title() for ax in rnn_heat.axes)
    assert "gates" not in titles and "hidden state" in titles
    legend_boxes = [ax.get_legend() for ax in figs[0].axes if ax.get_legend()]
    assert legend_boxes and all(lg.get_bbox_to_anchor().x0 >= ax.bbox.x1 - 1
                                for ax, lg in ((lg.axes, lg) for lg in legend_boxes))  # beside the data


def test_pytorch_interop(tmp_path):
    """A checkpoint saved from Python loads into the seed's PyTorch classes."""
    torch = pytest.importorskip("torch", reason="PyTorch not installed: interop not checked")
    st = pytest.importorskip("safetensors.torch")
    import pathlib
    import sys
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[3] / "tests" / "python"))
    from seed_models import SeedModel, log_probs
    for cell in ("rnn", "lstm", "gru"):
        with anbn.Model(cell=cell, seed=4, backend="ref") as m:  # ref: the backend held to 1e-6
            path = tmp_path / f"{cell}.safetensors"
            m.save(path)
            p = m.probe(SEQ[:-1])
        sd = {k: v for k, v in st.load_file(str(path)).items() if not k.startswith("optimizer.")}
        model = SeedModel(cell)
        model.load_state_dict(sd)  # strict
        worst = np.abs(log_probs(model, SEQ).numpy() - p.log_probs).max()
        print(f"\n[python -> torch, {cell}] worst forward diff {worst:.3e}")
        assert worst <= 1e-6
