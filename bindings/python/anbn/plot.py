"""The seed's pictures with matplotlib.  Every function returns the Figure and,
given path=, also writes it as a PNG.

    import anbn.plot
    anbn.plot.loss_curves(history, path="loss.png")
    anbn.plot.hidden_trajectory(model, n_values=[3, 6, 9], path="hidden.png")
    anbn.plot.probe_heatmap(model.probe(anbn.language_sequence(8)[:-1]), path="probe.png")
    anbn.plot.capacity(model.capacity(max_n=60), path="capacity.png")
"""
from typing import Optional, Sequence

import numpy as np

import matplotlib.pyplot as plt  # headless machines fall back to Agg by themselves

from . import Capacity, Model, Probe, language_sequence  # noqa: E402

__all__ = ["loss_curves", "hidden_trajectory", "probe_heatmap", "capacity"]


def _finish(fig, path):
    fig.tight_layout()
    if path:
        fig.savefig(path, dpi=110)
    return fig


def _get(row, key):
    return row[key] if isinstance(row, dict) else getattr(row, key)


def loss_curves(history: Sequence, path: Optional[str] = None, title: str = ""):
    """Train and valid loss per epoch (left) and the error rate (right).
    history: Model.fit's list of dicts, or objects with train_loss, valid_loss
    and error_rate (or errors and positions)."""
    epochs = [_get(r, "epoch") for r in history]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8))
    a.plot(epochs, [_get(r, "train_loss") for r in history], "o-", label="train loss")
    try:
        a.plot(epochs, [_get(r, "valid_loss") for r in history], "s-", label="valid loss")
        rates = []
        for r in history:
            try:
                rates.append(_get(r, "error_rate"))
            except (KeyError, AttributeError):
                rates.append(_get(r, "errors") / max(_get(r, "positions"), 1))
        b.plot(epochs, rates, "o-", color="C3")
    except (KeyError, AttributeError):
        b.text(0.5, 0.5, "no validation", ha="center", transform=b.transAxes)
    a.set(xlabel="epoch", ylabel="mean loss (sum NLL / len)", title=title or "loss")
    a.legend()
    b.set(xlabel="epoch", ylabel="argmax errors per position", title="validation error rate")
    for ax in (a, b):
        ax.grid(alpha=0.3)
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
    lstm = model.cell == "lstm"
    fig, axes = plt.subplots(1, 2 if lstm else 1, figsize=(11 if lstm else 5.5, 4.5))
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
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    if lstm:
        cx = axes[1]
        for k, (n, p) in enumerate(runs):
            for j in range(p.cell.shape[2]):
                cx.plot(p.cell[:, layer, j], ["-", "--", ":", "-."][j % 4], color=f"C{k % 10}",
                        label=f"n = {n}, c{j + 1}")
        cx.set(xlabel="input step (START, 0s, 1s)", ylabel="cell state", title="LSTM cell state: the counter")
        cx.legend(fontsize=7, ncol=2)
        cx.grid(alpha=0.3)
    return _finish(fig, path)


def probe_heatmap(probe: Probe, path: Optional[str] = None):
    """States and gates over time: one row per unit (hidden, cell, each gate),
    one column per input token."""
    T, L, H = probe.hidden.shape
    blocks, names = [], []
    gate_names = {"lstm": "ifgo", "gru": "rzn"}.get(probe.cell_type, "")
    for layer in range(L):
        blocks.append(probe.hidden[:, layer, :].T)
        names += [f"L{layer} h{j + 1}" for j in range(H)]
        if probe.cell is not None:
            blocks.append(probe.cell[:, layer, :].T)
            names += [f"L{layer} c{j + 1}" for j in range(H)]
        if probe.gates is not None:
            blocks.append(probe.gates[:, layer, :].T)
            names += [f"L{layer} {g}{j + 1}" for g in gate_names for j in range(H)]
    data = np.vstack(blocks)
    lim = max(1.0, float(np.abs(data).max()))
    fig, ax = plt.subplots(figsize=(max(5, 0.35 * T + 2), max(2.5, 0.28 * len(names) + 1.2)))
    im = ax.imshow(data, aspect="auto", cmap="coolwarm", vmin=-lim, vmax=lim, interpolation="nearest")
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(names, fontsize=7)
    ax.set_xticks(range(T))
    ax.set_xticklabels([str(t) for t in probe.tokens], fontsize=7)
    ax.set_xlabel("input token")
    ax.set_title(f"{probe.cell_type}: states and gates over time")
    fig.colorbar(im, ax=ax, fraction=0.03)
    return _finish(fig, path)


def capacity(result: Capacity, path: Optional[str] = None):
    """Errors at deterministic positions for each n (bars), with the capacity
    marked; the seed's raw Diff count as a line."""
    fig, ax = plt.subplots(figsize=(9, 3.6))
    ax.bar(result.n, result.deterministic_errors, color="C3", width=1.0, label="deterministic errors")
    ax.plot(result.n, result.errors, color="C0", lw=1, alpha=0.7, label="all argmax errors (seed's Diff)")
    ax.axvline(result.capacity + 0.5, color="k", ls="--", lw=1,
               label=f"capacity {result.capacity}" + (f" (first failure n = {result.first_failure})"
                                                       if result.first_failure else ""))
    ax.set(xlabel="n", ylabel="errors", title="where the counting breaks")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _finish(fig, path)
