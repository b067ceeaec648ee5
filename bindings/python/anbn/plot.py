"""The seed's pictures with matplotlib.  Every function returns the Figure and,
given path=, also writes it as a PNG.

    import anbn.plot
    anbn.plot.loss_curves(history, path="loss.png")
    anbn.plot.hidden_trajectory(model, n_values=[3, 6, 9], path="hidden.png")
    anbn.plot.probe_heatmap(model.probe(anbn.language_sequence(8)[:-1]), path="probe.png")
    anbn.plot.capacity(model.capacity(max_n=60), path="capacity.png")
    anbn.plot.counter(model, n=20, path="counter.png")   # uses model.diagnose()
"""
from typing import Optional, Sequence

import numpy as np

import matplotlib.pyplot as plt  # headless machines fall back to Agg by themselves

from . import Capacity, Model, Probe, language_sequence  # noqa: E402

__all__ = ["loss_curves", "hidden_trajectory", "probe_heatmap", "capacity", "counter"]


def _finish(fig, path):
    fig.tight_layout()
    if path:
        fig.savefig(path, dpi=110)
    return fig


def _get(row, key):
    return row[key] if isinstance(row, dict) else getattr(row, key)


def _has(row, key):
    return key in row if isinstance(row, dict) else hasattr(row, key)


def _legend_outside(ax, **kw):
    """Legends go beside the axes, never over the data."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize=8, **kw)


def _integer_ticks(ax):
    from matplotlib.ticker import MaxNLocator
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def loss_curves(history, path: Optional[str] = None, title: str = ""):
    """Train (and valid) loss per epoch (left) and the validation error rate
    (right).  history: Model.fit's list of dicts, or what Model.train_epoch
    returns (one EpochStats or a list of them: train loss only)."""
    if not isinstance(history, (list, tuple)):
        history = [history]
    epochs = [int(_get(r, "epoch")) for r in history]
    train = [_get(r, "train_loss") if _has(r, "train_loss") else _get(r, "mean_loss") for r in history]
    has_valid = all(_has(r, "valid_loss") for r in history) and len(history) > 0
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 3.8))
    a.plot(epochs, train, "o-", label="train loss")
    if has_valid:
        a.plot(epochs, [_get(r, "valid_loss") for r in history], "s-", label="valid loss")
        rates = [_get(r, "error_rate") if _has(r, "error_rate") else _get(r, "errors") / max(_get(r, "positions"), 1)
                 for r in history]
        b.plot(epochs, rates, "o-", color="C3")
    else:
        b.text(0.5, 0.5, "no validation set", ha="center", va="center", transform=b.transAxes, color="0.5")
    a.set(xlabel="epoch", ylabel="mean loss (sum NLL / len)", title=title or "loss")
    _legend_outside(a)
    b.set(xlabel="epoch", ylabel="argmax errors per position", title="validation error rate")
    for ax in (a, b):
        ax.grid(alpha=0.3)
        _integer_ticks(ax)
    return _finish(fig, path)


def _project(points: np.ndarray):
    """(N, H) -> (N, 2): the plane itself for H = 2, else the first two
    principal components."""
    if points.shape[1] == 1:
        return np.hstack([points, np.zeros_like(points)]), ("h1", "")
    if points.shape[1] == 2:
        return points, ("h1", "h2")
    centred = points - points.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T, ("PC 1", "PC 2")


def hidden_trajectory(model: Model, n_values: Sequence[int] = (3, 6, 9), path: Optional[str] = None,
                      layer: int = -1):
    """The recurrent state along START 0^n 1^n, one path per n: how the network
    counts.  Drawn in the plane (h1, h2) for H = 2, else on the first two
    principal components; circles mark where the 0s end, squares where the 1s
    end.  For an LSTM a second panel shows the cell state over time: the
    counter."""
    lang = model.info["language"]
    runs = []
    for n in n_values:
        seq = language_sequence(n, lang)[:-1]  # inputs START 0^n 1^n
        p = model.probe(seq)
        runs.append((n, p))
    pts = np.concatenate([p.hidden[:, layer, :] for _, p in runs])
    proj, labels = _project(pts)
    lstm = bool(model.info["has_cell_state"])
    fig, axes = plt.subplots(1, 2 if lstm else 1, figsize=(14 if lstm else 7, 4.5))
    ax = axes[0] if lstm else axes
    off = 0
    for k, (n, p) in enumerate(runs):
        T = p.hidden.shape[0]
        xy = proj[off: off + T]
        off += T
        color = f"C{k % 10}"
        ax.plot(xy[:, 0], xy[:, 1], "-", color=color, alpha=0.8, lw=1.2, label=f"n = {n}")
        ax.plot(xy[:, 0], xy[:, 1], ".", color=color, ms=4)
        ax.plot(*xy[0], "^", color=color, ms=8)            # after START
        ax.plot(*xy[n], "o", color=color, ms=9, mfc="none", mew=2)   # last 0
        ax.plot(*xy[-1], "s", color=color, ms=9, mfc="none", mew=2)  # last 1
    ax.set(xlabel=labels[0], ylabel=labels[1],
           title=f"{model.cell} hidden state (triangle START, circle end of 0s, square end of 1s)")
    ax.title.set_fontsize(9)
    _legend_outside(ax)
    ax.grid(alpha=0.3)
    if lstm:
        cx = axes[1]
        for k, (n, p) in enumerate(runs):
            for j in range(p.cell.shape[2]):
                cx.plot(p.cell[:, layer, j], ["-", "--", ":", "-."][j % 4], color=f"C{k % 10}",
                        label=f"n = {n}, c{j + 1}")
        cx.set(xlabel="input step (START, 0s, 1s)", ylabel="cell state", title="LSTM cell state: the counter")
        _legend_outside(cx)
        cx.grid(alpha=0.3)
    return _finish(fig, path)


def probe_heatmap(probe: Probe, path: Optional[str] = None):
    """States and gates over time: one row per unit, one column per input
    token.  States (hidden, cell: any sign) and gates (0..1) have colour
    scales of their own; a tanh RNN has states only."""
    T, L, H = probe.hidden.shape
    states, state_names, gates, gate_rows = [], [], [], []
    gate_names = probe.gate_rows
    for layer in range(L):
        states.append(probe.hidden[:, layer, :].T)
        state_names += [f"L{layer} h{j + 1}" for j in range(H)]
        if probe.cell is not None:
            states.append(probe.cell[:, layer, :].T)
            state_names += [f"L{layer} c{j + 1}" for j in range(H)]
        if probe.gates is not None:
            gates.append(probe.gates[:, layer, :].T)
            gate_rows += [f"L{layer} {g}{j + 1}" for g in gate_names for j in range(H)]
    panels = [(np.vstack(states), state_names, "states")]
    if gates:
        panels.append((np.vstack(gates), gate_rows, "gates"))
    heights = [max(1.2, 0.28 * len(n)) for _, n, _ in panels]
    fig, axes = plt.subplots(len(panels), 1, squeeze=False, gridspec_kw={"height_ratios": heights},
                             figsize=(max(5, 0.35 * T + 2.5), sum(heights) + 1.4))
    for ax, (data, names, kind) in zip(axes[:, 0], panels):
        if kind == "states":
            lim = max(1e-6, float(np.abs(data).max()))
            im = ax.imshow(data, aspect="auto", cmap="coolwarm", vmin=-lim, vmax=lim, interpolation="nearest")
            label = "state value"
        else:
            im = ax.imshow(data, aspect="auto", cmap="viridis", vmin=0.0, vmax=1.0, interpolation="nearest")
            label = "gate activation"
        ax.set_yticks(range(len(names)))
        ax.set_yticklabels(names, fontsize=7)
        ax.set_xticks(range(T))
        ax.set_xticklabels([str(t) for t in probe.tokens], fontsize=7)
        fig.colorbar(im, ax=ax, fraction=0.03, label=label)
    axes[-1, 0].set_xlabel("input token")
    what = "hidden state" if probe.cell_type == "rnn_tanh" else ("states and gates")
    axes[0, 0].set_title(f"{probe.cell_type}: {what} over time")
    return _finish(fig, path)


def capacity(result: Capacity, path: Optional[str] = None):
    """Errors at deterministic positions for each n (bars), with the capacity
    marked; the seed's raw Diff count as a line."""
    fig, ax = plt.subplots(figsize=(9, 3.6))
    ax.bar(result.n, result.deterministic_errors, color="C3", width=1.0, label="deterministic errors")
    ax.plot(result.n, result.errors, color="C0", lw=1, alpha=0.7, label="all argmax errors (seed's Diff)")
    ax.axvline(result.capacity + 0.5, color="k", ls="--", lw=1, zorder=0.5,
               label=f"capacity {result.capacity}" + (f" (first failure n = {result.first_failure})"
                                                       if result.first_failure else ""))
    ax.set(xlabel="n", ylabel="errors", title="where the counting breaks")
    ax.grid(alpha=0.3)
    _integer_ticks(ax)
    handles, labels = ax.get_legend_handles_labels()
    if result.min_prob.size:  # the margin per n on a second axis: how close each n came to failing
        mx = ax.twinx()
        mx.axhline(0.5, color="C2", ls=":", lw=0.8, zorder=0)  # behind the data
        line, = mx.plot(result.n, result.min_prob, color="C2", lw=1.2, label="margin (min p of a right symbol)")
        mx.set_ylim(0, 1.02)
        mx.set_ylabel("margin", color="C2")
        handles, labels = handles + [line], labels + [line.get_label()]
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.08, 1.0), borderaxespad=0.0, fontsize=8)
    return _finish(fig, path)


def counter(model: Model, n: int = 20, path: Optional[str] = None, diagnosis: Optional[dict] = None):
    """The counter that model.diagnose(n) finds, drawn.  LSTM/GRU: the unit
    that tracks #0 - #1 along START 0^n 1^n against that count (left), and
    the gates that keep and write it (right), with the per-step changes and
    the lowest gate values from the diagnosis.  tanh RNN: the 0-phase path
    of h towards its fixed point, and the Jacobian's eigenvalues there
    against the unit circle."""
    d = diagnosis if diagnosis is not None else model.diagnose(n)
    fig, (a, b) = plt.subplots(1, 2, figsize=(14, 4.4))
    if d["cell"] == "rnn_tanh":
        seq = language_sequence(n, model.info["language"])[:-1]
        h = model.probe(seq).hidden[:, 0, :].astype(np.float64)
        pts, labels = _project(np.vstack([h, np.asarray(d["fixed_point"])[None, :]]))
        a.plot(pts[:n + 1, 0], pts[:n + 1, 1], ".-", color="C0", label=f"reading 0s (n = {n})")
        a.plot(pts[n:-1, 0], pts[n:-1, 1], ".-", color="C1", label="reading 1s")
        a.plot(*pts[-1], "*", color="k", ms=14, label="0-phase fixed point h*")
        a.set(xlabel=labels[0], ylabel=labels[1], title="the 0s drive h to a fixed point: the count fades")
        _legend_outside(a)
        t = np.linspace(0, 2 * np.pi, 400)
        b.plot(np.cos(t), np.sin(t), color="0.6", lw=1, zorder=0, label="unit circle")
        eig = d["eigenvalues"]
        b.plot([e["re"] for e in eig], [e["im"] for e in eig], "x", color="C3", ms=10, mew=2, label="eigenvalues")
        r = max(1.1, 1.1 * max(abs(complex(e["re"], e["im"])) for e in eig))
        b.set_xlim(-r, r)
        b.set_ylim(-r, r)
        b.set_aspect("equal", adjustable="box")  # a circle, not an ellipse
        b.set(xlabel="Re", ylabel="Im",
              title=f"Jacobian eigenvalues at h*: spectral radius {d['spectral_radius']:.3f}")
    else:
        u = d["unit"]
        seq = language_sequence(n, model.info["language"])[:-1]
        p = model.probe(seq)
        state = (p.cell if u["state"] == "cell" else p.hidden)[:, u["layer"], u["index"]]
        T = len(seq)
        count = np.array([t if t <= n else 2 * n - t for t in range(T)], np.float64)
        slope = d["delta_zeros"]["mean"] or 1.0
        a.plot(state, ".-", color="C0", label=f"{u['state']} unit {u['index']} (layer {u['layer']})")
        a.plot(count * slope, "--", color="0.4", label=f"count #0 - #1, times {slope:+.3f}")
        a.axvline(n + 0.5, color="k", lw=0.8, ls=":")
        dz, do = d["delta_zeros"], d["delta_ones"]
        a.set(xlabel="input step (START, 0s, 1s)", ylabel="state",
              title=f"per step: 0s {dz['mean']:+.4f} ± {dz['std']:.4f}, 1s {do['mean']:+.4f} ± {do['std']:.4f}")
        a.title.set_fontsize(9)
        _legend_outside(a)
        g = p.gates[:, u["layer"], :]
        for k, (key, row) in enumerate(d["gate_rows"].items()):  # the gates the diagnosis judged
            name, m = d[key]["gate"], d[key]
            b.plot(g[:, row], ".-", color=f"C{k + 2}",
                   label=f"{name}: min {m['zeros']:.4f} in the 0s, {m['ones']:.4f} in the 1s")
        b.axvline(n + 0.5, color="k", lw=0.8, ls=":")
        b.set_ylim(-0.02, 1.02)
        b.set(xlabel="input step (START, 0s, 1s)", ylabel="gate activation",
              title="gates that keep and write the count (1.0 = exact)")
        _legend_outside(b)
    for ax in (a, b):
        ax.grid(alpha=0.3)
    return _finish(fig, path)
