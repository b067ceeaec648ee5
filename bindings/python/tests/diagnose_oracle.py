"""A test oracle for anbn_diagnose (src/diagnose.cpp): the same diagnosis
computed independently in numpy over the public probe, so the C result is
checked against something other than itself."""
import numpy as np


def _stats(v):
    v = np.asarray(v, np.float64)
    return {"mean": float(v.mean()), "std": float(v.std())} if v.size else None


def _corr(a, b):
    a, b = a - a.mean(), b - b.mean()
    saa, sbb = float(a @ a), float(b @ b)
    return float(a @ b / np.sqrt(saa * sbb)) if saa > 0 and sbb > 0 else 0.0


def _gated(model, n):
    info = model.info
    H, lstm = info["hidden"], info["cell"] in ("lstm", "peephole")
    seq = [info["alphabet"] + 1] + [0] * n + [1] * n  # inputs START 0^n 1^n
    T = len(seq)
    count = np.array([t if t <= n else 2 * n - t for t in range(T)], np.float64)  # #0 - #1 after input t
    p = model.probe(seq)
    state = (p.cell if lstm else p.hidden).astype(np.float64)  # (T, layers, H)
    best, best_r, best_l, best_j = -1.0, 0.0, 0, 0
    for l in range(info["layers"]):
        for j in range(H):
            r = _corr(state[:, l, j], count)
            if abs(r) > best:
                best, best_r, best_l, best_j = abs(r), r, l, j
    s = state[:, best_l, best_j]
    d = np.diff(s)  # step t-1 -> t for t = 1..T-1; t <= n reads a 0
    g = p.gates[:, best_l, :].astype(np.float64)  # (T, G*H): LSTM i,f,g,o / GRU r,z,n
    keep, write = H + best_j, best_j  # forget (LSTM) or update z (GRU); input (LSTM)
    out = {"cell": info["cell"], "n": n,
           "unit": {"layer": best_l, "index": best_j, "state": "cell" if lstm else "hidden",
                    "correlation": best_r},
           "delta_zeros": _stats(d[:n]), "delta_ones": _stats(d[n:])}
    judged = [("min_forget", "forget f", keep), ("min_input", "input i", write)] if lstm else \
        [("min_update_z", "update z", keep)]
    out["gate_rows"] = {}
    for key, gate, row in judged:
        out[key] = {"zeros": float(g[1:n + 1, row].min()), "ones": float(g[n + 1:, row].min()), "gate": gate}
        out["gate_rows"][key] = row
    return out


def _rnn(model):
    P = {k: v.astype(np.float64) for k, v in model.parameters().items()}
    drive = P["rnn.weight_ih_l0"] @ P["embedding.weight"][0] + P["rnn.bias_ih_l0"] + P["rnn.bias_hh_l0"]
    whh = P["rnn.weight_hh_l0"]
    h = np.zeros_like(drive)
    it, step = 0, np.inf
    while it < 100000 and step > 1e-13:  # iterate the 0-phase map to its fixed point
        nxt = np.tanh(drive + whh @ h)
        step = float(np.abs(nxt - h).max())
        h, it = nxt, it + 1
    J = (1.0 - h * h)[:, None] * whh  # Jacobian there: diag(1 - h*^2) W_hh
    eig = np.linalg.eigvals(J)
    eig = sorted(eig, key=lambda z: (-z.real, -z.imag))
    return {"cell": "rnn_tanh", "fixed_point": h.tolist(), "converged": step <= 1e-13, "iterations": it,
            "jacobian": J.ravel().tolist(), "eigenvalues": [{"re": float(z.real), "im": float(z.imag)} for z in eig],
            "spectral_radius": float(max(abs(z) for z in eig))}


def diagnose(model, n=20):
    if not 1 <= n <= 1000000:
        raise ValueError(f"n must be in 1..1e6, got {n}")
    return _rnn(model) if model.cell == "rnn_tanh" else _gated(model, n)
