#!/usr/bin/env python3
"""The JAX peer of anbn's population: P LSTMs (H = 2, the seed configuration)
trained for one epoch by jax.vmap of a jitted epoch (lax.scan over the 2000
Adam steps, each member on its own corpus and order, sequences padded to the
longest and masked), against `bench_population` (ref, members in SIMD lanes)
in the same run, both on one core.  Checked first: JAX's epoch losses equal
anbn's (ref, the same initial weights and order) within 1e-5.

    python3 bench/jax_peer.py [--members 1000] [--check 3]

JAX is a benchmark dependency only (pip install "jax[cpu]").
"""
import argparse
import os
import pathlib
import re
import subprocess
import sys
import time

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
ROOT = pathlib.Path(__file__).resolve().parents[1]


def one_core():
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def members(n, anbn):
    """Each member's corpus (its seed's 2000 training sequences, in corpus
    order: shuffling off on both sides) and initial weights (anbn's, from the
    same seed), padded to the longest sequence."""
    import numpy as np
    seqs, params = [], []
    for s in range(n):
        seqs.append(anbn.Corpus.seed(seed=s).train)
        with anbn.Model(cell="lstm", hidden=2, seed=s, backend="ref", shuffle=False) as m:
            params.append({k: v.astype(np.float32) for k, v in m.state_dict().items()})
    T = max(len(q) for c in seqs for q in c) - 1
    x = np.zeros((n, len(seqs[0]), T), np.int32)
    y = np.zeros_like(x)
    mask = np.zeros(x.shape, np.float32)
    L = np.zeros((n, len(seqs[0])), np.float32)
    for b, c in enumerate(seqs):
        for i, q in enumerate(c):
            x[b, i, :len(q) - 1], y[b, i, :len(q) - 1] = q[:-1], q[1:]
            mask[b, i, :len(q) - 1], L[b, i] = 1.0, len(q)
    stacked = {k: np.stack([p[k] for p in params]) for k in params[0]}
    return stacked, x, y, mask, L


def make_epoch(jax, jnp):
    def loss_fn(p, x, y, mask, L):
        h = c = jnp.zeros(2)
        def cell(carry, xt):
            h, c = carry
            g = p["lstm.weight_ih_l0"] @ p["embedding.weight"][xt] + p["lstm.bias_ih_l0"] + \
                p["lstm.weight_hh_l0"] @ h + p["lstm.bias_hh_l0"]
            i, f, gg, o = jnp.split(g, 4)
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(gg)
            h = jax.nn.sigmoid(o) * jnp.tanh(c)
            return (h, c), h
        _, hs = jax.lax.scan(cell, (h, c), x)
        logp = jax.nn.log_softmax(hs @ p["fc.weight"].T + p["fc.bias"])
        return -(jnp.take_along_axis(logp, y[:, None], 1)[:, 0] * mask).sum() / L

    grad_fn = jax.value_and_grad(loss_fn)

    def epoch(p, x, y, mask, L):  # one member: 2000 Adam steps (torch.optim.Adam, lr 1e-3)
        m = jax.tree_util.tree_map(jnp.zeros_like, p)
        v = jax.tree_util.tree_map(jnp.zeros_like, p)
        def step(state, batch):
            p, m, v, t = state
            loss, g = grad_fn(p, *batch)
            t = t + 1
            m = jax.tree_util.tree_map(lambda m, g: 0.9 * m + 0.1 * g, m, g)
            v = jax.tree_util.tree_map(lambda v, g: 0.999 * v + 0.001 * g * g, v, g)
            size, bc2 = 1e-3 / (1 - 0.9 ** t), jnp.sqrt(1 - 0.999 ** t)
            p = jax.tree_util.tree_map(lambda p, m, v: p - size * m / (jnp.sqrt(v) / bc2 + 1e-8), p, m, v)
            return (p, m, v, t), loss
        (p, _, _, _), losses = jax.lax.scan(step, (p, m, v, 0.0), (x, y, mask, L))
        return p, losses.mean()

    return jax.jit(jax.vmap(epoch))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--members", type=int, default=1000)
    ap.add_argument("--check", type=int, default=3, help="members whose losses are checked against anbn")
    ap.add_argument("--bench", default=str(ROOT / "build/release/bin/bench_population"))
    a = ap.parse_args()
    sys.path.insert(0, str(ROOT / "build/release/python"))
    import anbn
    import jax
    import jax.numpy as jnp
    import numpy as np
    one_core()
    p, x, y, mask, L = members(a.members, anbn)
    epoch = make_epoch(jax, jnp)
    # correctness: JAX's epoch losses against anbn's (ref) for the first members
    _, loss = epoch(*(jax.tree_util.tree_map(lambda t: t[:a.check], z) for z in (p, x, y, mask, L)))
    worst = 0.0
    for s in range(a.check):
        with anbn.Model(cell="lstm", hidden=2, seed=s, backend="ref", shuffle=False) as m:
            ours = m.train_epoch(anbn.Corpus.seed(seed=s).train).mean_loss
        worst = max(worst, abs(float(loss[s]) - ours))
    print(f"JAX vs anbn epoch loss, {a.check} members: worst |diff| {worst:.2e} (tol 1e-5)")
    assert worst <= 1e-5
    jax.block_until_ready(epoch(p, x, y, mask, L))  # compile for the full population
    t0 = time.perf_counter()
    jax.block_until_ready(epoch(p, x, y, mask, L))
    jax_ms = 1e3 * (time.perf_counter() - t0) / a.members
    out = subprocess.run(["taskset", "-c", str(sorted(os.sched_getaffinity(0))[0]), a.bench, str(a.members), "3"],
                         capture_output=True, text=True, check=True).stdout
    ref_ms = float(re.search(r"in lanes ([0-9.]+)", out).group(1))
    print(out.strip())
    print(f"one core, {a.members} LSTMs, one epoch: jax.vmap {jax_ms:.3f} ms per model-epoch, anbn population "
          f"{ref_ms:.3f} ms: anbn {jax_ms / ref_ms:.1f}x faster")


if __name__ == "__main__":
    main()
