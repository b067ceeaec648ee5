// The reference backend: the oracle every other backend is measured against.
// Plain C++, one sequence at a time, everything accumulated in double; the
// parameters and Adam state are float32 as in PyTorch.  Numerics are
// DESIGN.md §2 exactly (PyTorch's RNN/LSTM/GRU, log-softmax, NLL / len, Adam).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <new>
#include <vector>

#include "anbn/backend.h"
#include "../plugin_util.hpp"
#include "ref_math.hpp"

namespace {

using std::size_t;
using Vec = std::vector<double>;

using ref_math::sigmoid;

using anbn_plugin::set_err;

using Layer = anbn_plugin::Layout::Layer;  // offsets into the flat parameters

// Activations of one sequence, kept for backpropagation through time.
struct Cache {
  int T = 0;
  std::vector<Vec> x;    // per layer (T, in): the layer's input
  std::vector<Vec> h;    // per layer (T+1, H): h[0] is the initial state
  std::vector<Vec> c;    // per layer (T+1, H): LSTM cell
  std::vector<Vec> act;  // per layer (T, G*H): gate activations (rnn: h)
  std::vector<Vec> aux;  // per layer (T, H): LSTM tanh(c) / GRU W_hn h' + b_hn
  Vec logp;              // (T, O)
};

struct Ctx {
  anbn_backend_desc d{};
  int G = 1, H = 0, O = 0, V = 0, E = 0, L = 0;
  std::vector<float> p, m, v;  // parameters and Adam moments, canonical order
  int64_t step = 0;
  size_t emb = 0, fcw = 0, fcb = 0;
  std::vector<Layer> layers;
  Cache cache;
  std::vector<float> nm, nv, np;  // Adam's next values
  Vec grad, ai, ah, dh_in, dh_below, dh_next, dc_next, dai, dah, dz;

  bool init(const anbn_backend_desc &desc) {
    d = desc;
    G = anbn_plugin::gates_of(d.cell);
    H = d.hidden, O = d.output, V = d.vocab, E = d.embed, L = d.layers;
    const anbn_plugin::Layout lay(d, G);
    emb = lay.emb, fcw = lay.fcw, fcb = lay.fcb, layers = lay.layers;
    p.assign(lay.total, 0.f), m.assign(lay.total, 0.f), v.assign(lay.total, 0.f);
    grad.assign(lay.total, 0.0);
    cache.x.resize(L), cache.h.resize(L), cache.c.resize(L), cache.act.resize(L), cache.aux.resize(L);
    return true;
  }

  // out[r] = b[r] + sum_k W[r,k] in[k];  W (rows, cols) float, in double.
  void affine(size_t w, size_t b, int rows, int cols, const double *in, double *out) const {
    for (int r = 0; r < rows; ++r) {
      double s = p[b + r];
      const float *wr = &p[w + size_t(r) * cols];
      for (int k = 0; k < cols; ++k) s += double(wr[k]) * in[k];
      out[r] = s;
    }
  }

  // Forward one sequence x (T) from h0, c0 (layers, H); fills the cache.
  void forward_seq(const int32_t *x, int T, const double *h0, const double *c0) {
    Cache &C = cache;
    C.T = T;
    const int GH = G * H;
    ai.resize(GH), ah.resize(GH);
    for (int l = 0; l < L; ++l) {
      const Layer &ly = layers[l];
      Vec &X = C.x[l], &Hs = C.h[l], &Cs = C.c[l], &A = C.act[l], &X2 = C.aux[l];
      X.resize(size_t(T) * ly.in), Hs.resize(size_t(T + 1) * H), Cs.resize(size_t(T + 1) * H);
      A.resize(size_t(T) * GH), X2.resize(size_t(T) * H);
      for (int t = 0; t < T; ++t) {  // layer input: embedding row or the layer below
        double *xt = &X[size_t(t) * ly.in];
        if (l == 0)
          for (int k = 0; k < E; ++k) xt[k] = p[emb + size_t(x[t]) * E + k];
        else
          std::memcpy(xt, &C.h[l - 1][size_t(t + 1) * H], sizeof(double) * H);
      }
      for (int j = 0; j < H; ++j) Hs[j] = h0 ? h0[l * H + j] : 0.0, Cs[j] = c0 ? c0[l * H + j] : 0.0;
      for (int t = 0; t < T; ++t) {
        const double *hp = &Hs[size_t(t) * H], *cp = &Cs[size_t(t) * H];
        double *h = &Hs[size_t(t + 1) * H], *c = &Cs[size_t(t + 1) * H];
        double *a = &A[size_t(t) * GH], *aux = &X2[size_t(t) * H];
        affine(ly.wih, ly.bih, GH, ly.in, &X[size_t(t) * ly.in], ai.data());  // (G*H)
        affine(ly.whh, ly.bhh, GH, H, hp, ah.data());                         // (G*H)
        for (int j = 0; j < H; ++j) {
          if (d.cell == ANBN_CELL_RNN_TANH) {
            h[j] = a[j] = ref_math::tanh(ai[j] + ah[j]);
            c[j] = 0.0;
          } else if (d.cell == ANBN_CELL_LSTM) {
            const double ig = sigmoid(ai[j] + ah[j]), fg = sigmoid(ai[H + j] + ah[H + j]);
            const double gg = ref_math::tanh(ai[2 * H + j] + ah[2 * H + j]);
            const double og = sigmoid(ai[3 * H + j] + ah[3 * H + j]);
            c[j] = fg * cp[j] + ig * gg;
            aux[j] = ref_math::tanh(c[j]);
            h[j] = og * aux[j];
            a[j] = ig, a[H + j] = fg, a[2 * H + j] = gg, a[3 * H + j] = og;
          } else {  // GRU
            const double r = sigmoid(ai[j] + ah[j]), z = sigmoid(ai[H + j] + ah[H + j]);
            aux[j] = ah[2 * H + j];  // W_hn h' + b_hn
            const double n = ref_math::tanh(ai[2 * H + j] + r * aux[j]);
            h[j] = (1.0 - z) * n + z * hp[j];
            c[j] = 0.0;
            a[j] = r, a[H + j] = z, a[2 * H + j] = n;
          }
        }
      }
    }
    C.logp.resize(size_t(T) * O);  // (T, O) = log_softmax(W_fc h + b_fc)
    for (int t = 0; t < T; ++t) {
      double *z = &C.logp[size_t(t) * O];
      affine(fcw, fcb, O, H, &C.h[L - 1][size_t(t + 1) * H], z);
      double mx = z[0];
      for (int o = 1; o < O; ++o) mx = z[o] > mx ? z[o] : mx;
      double s = 0.0;
      for (int o = 0; o < O; ++o) s += ref_math::exp(z[o] - mx);
      const double lse = mx + ref_math::log(s);
      for (int o = 0; o < O; ++o) z[o] -= lse;
    }
  }

  // Forward of B sequences in lockstep, one lane per sequence, nothing kept
  // for backward: what evaluation, probing and capacity scans run.  The same
  // arithmetic in the same order as forward_seq (so the same bits); the
  // loops over lanes are innermost so that they vectorize.
  Vec proj, emb_row, hs, cs, ail, ahl, actl, zl;  // (V, G*H); (E); per layer (H, B) x2; (G*H, B) x3; (O+2, B)
  // Built for AVX-512, AVX2 and the baseline; the loader picks one (ifunc).
  // No FMA in any of them (-ffp-contract=off): the same bits on each.
  // Not under TSan: its instrumented ifunc resolver runs before TSan starts.
#if defined(__SANITIZE_THREAD__)
#define ANBN_LANE_CLONES
#else
#define ANBN_LANE_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
  ANBN_LANE_CLONES
  void forward_lanes(const int32_t *x, int B, int T, const float *h0, const float *c0, const anbn_forward_out &out) {
    const int GH = G * H;
    const size_t nb = size_t(B);
    proj.resize(size_t(V) * GH);  // layer 0's b_ih + W_ih e for each token: the input is an embedding row
    emb_row.resize(size_t(E));
    for (int v = 0; v < V; ++v) {
      for (int k = 0; k < E; ++k) emb_row[k] = p[emb + size_t(v) * E + k];
      affine(layers[0].wih, layers[0].bih, GH, E, emb_row.data(), &proj[size_t(v) * GH]);
    }
    hs.resize(size_t(L) * H * nb), cs.resize(hs.size()), ail.resize(size_t(GH) * nb), ahl.resize(ail.size()), actl.resize(ail.size());
    zl.resize(size_t(O + 2) * nb);
    for (int l = 0; l < L; ++l)  // (layers, B, H) -> (layers, H, B)
      for (int j = 0; j < H; ++j)
        for (size_t b = 0; b < nb; ++b) {
          const size_t src = (size_t(l) * nb + b) * H + j, dst = (size_t(l) * H + j) * nb + b;
          hs[dst] = h0 ? h0[src] : 0.0, cs[dst] = c0 ? c0[src] : 0.0;
        }
    for (int t = 0; t < T; ++t) {
      for (int l = 0; l < L; ++l) {
        const Layer &ly = layers[l];
        double *__restrict ai = ail.data(), *__restrict ah = ahl.data();
        double *__restrict h = &hs[size_t(l) * H * nb], *__restrict c = &cs[size_t(l) * H * nb];
        for (int g = 0; g < GH; ++g) {  // (G*H, B) input and recurrent pre-activations
          if (l == 0) {
            for (size_t b = 0; b < nb; ++b) ai[g * nb + b] = proj[size_t(x[b * T + t]) * GH + g];
          } else {
            const double *__restrict below = &hs[size_t(l - 1) * H * nb];
            const float *w = &p[ly.wih + size_t(g) * H];
            for (size_t b = 0; b < nb; ++b) ai[g * nb + b] = p[ly.bih + g];
            for (int k = 0; k < H; ++k)
              for (size_t b = 0; b < nb; ++b) ai[g * nb + b] += double(w[k]) * below[k * nb + b];
          }
          const float *w = &p[ly.whh + size_t(g) * H];
          for (size_t b = 0; b < nb; ++b) ah[g * nb + b] = p[ly.bhh + g];
          for (int k = 0; k < H; ++k)
            for (size_t b = 0; b < nb; ++b) ah[g * nb + b] += double(w[k]) * h[k * nb + b];
        }
        double *__restrict act = actl.data();  // (G*H, B) gate activations
        for (int j = 0; j < H; ++j) {  // the cell, in place: every gate above read the old h
          double *__restrict hj = h + j * nb, *__restrict cj = c + j * nb;
          const double *ai0 = ai + j * nb, *ah0 = ah + j * nb, *ai1 = ai + (H + j) * nb, *ah1 = ah + (H + j) * nb;
          const double *ai2 = ai + (2 * H + j) * nb, *ah2 = ah + (2 * H + j) * nb;
          double *__restrict a0 = act + j * nb, *__restrict a1 = act + (H + j) * nb;
          double *__restrict a2 = act + (2 * H + j) * nb;
          // One loop per gate: each vectorizes (one loop for all of them does not).
          if (d.cell == ANBN_CELL_RNN_TANH) {
            for (size_t b = 0; b < nb; ++b) hj[b] = ref_math::tanh(ai0[b] + ah0[b]);
          } else if (d.cell == ANBN_CELL_LSTM) {
            const double *ai3 = ai + (3 * H + j) * nb, *ah3 = ah + (3 * H + j) * nb;
            double *__restrict a3 = act + (3 * H + j) * nb;
            for (size_t b = 0; b < nb; ++b) a0[b] = sigmoid(ai0[b] + ah0[b]);         // i
            for (size_t b = 0; b < nb; ++b) a1[b] = sigmoid(ai1[b] + ah1[b]);         // f
            for (size_t b = 0; b < nb; ++b) a2[b] = ref_math::tanh(ai2[b] + ah2[b]);  // g
            for (size_t b = 0; b < nb; ++b) a3[b] = sigmoid(ai3[b] + ah3[b]);         // o
            for (size_t b = 0; b < nb; ++b) cj[b] = a1[b] * cj[b] + a0[b] * a2[b];
            for (size_t b = 0; b < nb; ++b) hj[b] = a3[b] * ref_math::tanh(cj[b]);
          } else {  // GRU
            for (size_t b = 0; b < nb; ++b) a0[b] = sigmoid(ai0[b] + ah0[b]);                 // r
            for (size_t b = 0; b < nb; ++b) a1[b] = sigmoid(ai1[b] + ah1[b]);                 // z
            for (size_t b = 0; b < nb; ++b) a2[b] = ref_math::tanh(ai2[b] + a0[b] * ah2[b]);  // n
            for (size_t b = 0; b < nb; ++b) hj[b] = (1.0 - a1[b]) * a2[b] + a1[b] * hj[b];
          }
        }
        if (out.gates && G > 1)
          for (size_t b = 0; b < nb; ++b)
            for (int g = 0; g < GH; ++g) out.gates[((b * T + t) * L + l) * GH + g] = float(act[g * nb + b]);
      }
      if (out.log_probs) {  // (O, B) = log_softmax(W_fc h + b_fc)
        const double *__restrict h = &hs[size_t(L - 1) * H * nb];
        double *__restrict z = zl.data();
        for (int o = 0; o < O; ++o) {
          for (size_t b = 0; b < nb; ++b) z[o * nb + b] = p[fcb + o];
          for (int j = 0; j < H; ++j)
            for (size_t b = 0; b < nb; ++b) z[o * nb + b] += double(p[fcw + size_t(o) * H + j]) * h[j * nb + b];
        }
        double *__restrict mx = &zl[size_t(O) * nb], *__restrict sum = mx + nb;  // (B) each
        for (size_t b = 0; b < nb; ++b) mx[b] = z[b];
        for (int o = 1; o < O; ++o)
          for (size_t b = 0; b < nb; ++b) mx[b] = z[o * nb + b] > mx[b] ? z[o * nb + b] : mx[b];
        for (size_t b = 0; b < nb; ++b) sum[b] = 0.0;
        for (int o = 0; o < O; ++o)
          for (size_t b = 0; b < nb; ++b) sum[b] += ref_math::exp(z[o * nb + b] - mx[b]);
        for (size_t b = 0; b < nb; ++b) mx[b] += ref_math::log(sum[b]);  // now the log-sum-exp
        for (int o = 0; o < O; ++o)
          for (size_t b = 0; b < nb; ++b) out.log_probs[(b * T + t) * O + o] = float(z[o * nb + b] - mx[b]);
      }
      if (out.hidden || out.cell)
        for (size_t b = 0; b < nb; ++b)
          for (int l = 0; l < L; ++l)
            for (int j = 0; j < H; ++j) {
              const size_t dst = ((b * T + t) * L + l) * H + j, src = (size_t(l) * H + j) * nb + b;
              if (out.hidden) out.hidden[dst] = float(hs[src]);
              if (out.cell) out.cell[dst] = float(cs[src]);
            }
    }
  }

  // Backpropagation through time of the cached sequence; loss scale `scale`.
  // Accumulates into grad.  Returns the sequence's summed NLL.
  double backward_seq(const int32_t *x, const int32_t *y, double scale) {
    Cache &C = cache;
    const int T = C.T, GH = G * H;
    double nll = 0.0;
    dh_in.assign(size_t(T) * H, 0.0);  // (T, H): dloss/dh of the current layer from above
    dz.resize(O);
    for (int t = 0; t < T; ++t) {
      const double *lp = &C.logp[size_t(t) * O], *h = &C.h[L - 1][size_t(t + 1) * H];
      nll -= lp[y[t]];
      for (int o = 0; o < O; ++o) dz[o] = (ref_math::exp(lp[o]) - (o == y[t] ? 1.0 : 0.0)) * scale;
      for (int o = 0; o < O; ++o) {
        grad[fcb + o] += dz[o];
        for (int j = 0; j < H; ++j) {
          grad[fcw + size_t(o) * H + j] += dz[o] * h[j];
          dh_in[size_t(t) * H + j] += dz[o] * p[fcw + size_t(o) * H + j];
        }
      }
    }
    dai.resize(GH), dah.resize(GH);
    for (int l = L - 1; l >= 0; --l) {
      const Layer &ly = layers[l];
      const Vec &X = C.x[l], &Hs = C.h[l], &Cs = C.c[l], &A = C.act[l], &X2 = C.aux[l];
      dh_below.assign(size_t(T) * ly.in, 0.0);  // (T, in)
      dh_next.assign(H, 0.0), dc_next.assign(H, 0.0);
      for (int t = T - 1; t >= 0; --t) {
        const double *hp = &Hs[size_t(t) * H], *cp = &Cs[size_t(t) * H];
        const double *h = &Hs[size_t(t + 1) * H], *a = &A[size_t(t) * GH], *aux = &X2[size_t(t) * H];
        const double *xt = &X[size_t(t) * ly.in];
        for (int j = 0; j < H; ++j) {
          const double dh = dh_in[size_t(t) * H + j] + dh_next[j];
          if (d.cell == ANBN_CELL_RNN_TANH) {
            dai[j] = dah[j] = dh * (1.0 - h[j] * h[j]);
          } else if (d.cell == ANBN_CELL_LSTM) {
            const double ig = a[j], fg = a[H + j], gg = a[2 * H + j], og = a[3 * H + j], tc = aux[j];
            const double dc = dc_next[j] + dh * og * (1.0 - tc * tc);
            dc_next[j] = dc * fg;
            dai[j] = dc * gg * ig * (1.0 - ig);
            dai[H + j] = dc * cp[j] * fg * (1.0 - fg);
            dai[2 * H + j] = dc * ig * (1.0 - gg * gg);
            dai[3 * H + j] = dh * tc * og * (1.0 - og);
            for (int g = 0; g < 4; ++g) dah[g * H + j] = dai[g * H + j];
          } else {  // GRU
            const double r = a[j], z = a[H + j], n = a[2 * H + j];
            const double dan = dh * (1.0 - z) * (1.0 - n * n);
            dai[j] = dah[j] = dan * aux[j] * r * (1.0 - r);
            dai[H + j] = dah[H + j] = dh * (hp[j] - n) * z * (1.0 - z);
            dai[2 * H + j] = dan;
            dah[2 * H + j] = dan * r;
          }
        }
        // dh' = W_hh^T dah (+ z dh for the GRU);  weight gradients.
        for (int j = 0; j < H; ++j)
          dh_next[j] = d.cell == ANBN_CELL_GRU ? (dh_in[size_t(t) * H + j] + dh_next[j]) * a[H + j] : 0.0;
        for (int g = 0; g < GH; ++g) {
          grad[ly.bih + g] += dai[g];
          grad[ly.bhh + g] += dah[g];
          const float *wih = &p[ly.wih + size_t(g) * ly.in], *whh = &p[ly.whh + size_t(g) * H];
          double *gwih = &grad[ly.wih + size_t(g) * ly.in], *gwhh = &grad[ly.whh + size_t(g) * H];
          double *dxt = &dh_below[size_t(t) * ly.in];
          for (int k = 0; k < ly.in; ++k) gwih[k] += dai[g] * xt[k], dxt[k] += dai[g] * wih[k];
          for (int k = 0; k < H; ++k) gwhh[k] += dah[g] * hp[k], dh_next[k] += dah[g] * whh[k];
        }
      }
      if (l > 0) {
        dh_in.swap(dh_below);
      } else {
        for (int t = 0; t < T; ++t)
          for (int k = 0; k < E; ++k) grad[emb + size_t(x[t]) * E + k] += dh_below[size_t(t) * E + k];
      }
    }
    return nll;
  }

  // Loss and gradient (into grad) of a batch; returns false if non-finite.
  bool loss_and_grad(const int32_t *x, const int32_t *y, int B, int T, int divisor, double *loss) {
    std::fill(grad.begin(), grad.end(), 0.0);
    const double scale = 1.0 / (double(divisor) * B);
    double total = 0.0;
    for (int b = 0; b < B; ++b) {
      forward_seq(x + size_t(b) * T, T, nullptr, nullptr);
      total += backward_seq(x + size_t(b) * T, y + size_t(b) * T, scale);
    }
    *loss = total * scale;
    if (!std::isfinite(*loss)) return false;
    for (double g : grad)
      if (!std::isfinite(g)) return false;
    return true;
  }

  bool adam(const anbn_adam_hparams &hp) { return anbn_plugin::adam_step(p, m, v, grad, step, hp, nm, nv, np); }
};

Ctx *cast(anbn_backend_ctx *c) { return reinterpret_cast<Ctx *>(c); }

anbn_status ref_create(const anbn_backend_desc *d, anbn_backend_ctx **out, char *err, size_t len) {
  if (!d || !out || d->struct_size < sizeof(anbn_backend_desc)) {
    set_err(err, len, "bad descriptor");
    return ANBN_ERR_INVALID_ARGUMENT;
  }
  Ctx *c = new (std::nothrow) Ctx;
  if (!c) return set_err(err, len, "out of memory"), ANBN_ERR_OUT_OF_MEMORY;
  try {
    c->init(*d);
  } catch (...) {
    delete c;
    set_err(err, len, "out of memory");
    return ANBN_ERR_OUT_OF_MEMORY;
  }
  *out = reinterpret_cast<anbn_backend_ctx *>(c);
  return ANBN_OK;
}

void ref_destroy(anbn_backend_ctx *c) { delete cast(c); }

anbn_status check_n(Ctx *c, size_t n, char *err, size_t len) {
  return anbn_plugin::check_count(c->p.size(), n, err, len);
}

anbn_status ref_get_params(anbn_backend_ctx *cx, float *out, size_t n, char *err, size_t len) {
  Ctx *c = cast(cx);
  if (anbn_status s = check_n(c, n, err, len)) return s;
  std::memcpy(out, c->p.data(), n * sizeof(float));
  return ANBN_OK;
}

anbn_status ref_set_params(anbn_backend_ctx *cx, const float *in, size_t n, char *err, size_t len) {
  Ctx *c = cast(cx);
  if (anbn_status s = check_n(c, n, err, len)) return s;
  std::memcpy(c->p.data(), in, n * sizeof(float));
  return ANBN_OK;
}

anbn_status ref_get_adam(anbn_backend_ctx *cx, float *m, float *v, size_t n, int64_t *step, char *err,
                         size_t len) {
  Ctx *c = cast(cx);
  if (anbn_status s = check_n(c, n, err, len)) return s;
  std::memcpy(m, c->m.data(), n * sizeof(float));
  std::memcpy(v, c->v.data(), n * sizeof(float));
  *step = c->step;
  return ANBN_OK;
}

anbn_status ref_set_adam(anbn_backend_ctx *cx, const float *m, const float *v, size_t n, int64_t step,
                         char *err, size_t len) {
  Ctx *c = cast(cx);
  if (anbn_status s = check_n(c, n, err, len)) return s;
  std::memcpy(c->m.data(), m, n * sizeof(float));
  std::memcpy(c->v.data(), v, n * sizeof(float));
  c->step = step;
  return ANBN_OK;
}

anbn_status ref_train_batch(anbn_backend_ctx *cx, const int32_t *x, const int32_t *y, int32_t B, int32_t T,
                            int32_t divisor, const anbn_adam_hparams *hp, double *loss, char *err,
                            size_t len) {
  Ctx *c = cast(cx);
  try {
    if (!c->loss_and_grad(x, y, B, T, divisor, loss)) {
      set_err(err, len, "non-finite loss or gradient; nothing was updated");
      return ANBN_ERR_NUMERIC;
    }
    if (!c->adam(*hp)) {
      set_err(err, len, "the Adam update would make a parameter non-finite (learning rate too large?); nothing was updated");
      return ANBN_ERR_NUMERIC;
    }
  } catch (const std::bad_alloc &) {
    return set_err(err, len, "out of memory"), ANBN_ERR_OUT_OF_MEMORY;
  }
  return ANBN_OK;
}

anbn_status ref_gradients(anbn_backend_ctx *cx, const int32_t *x, const int32_t *y, int32_t B, int32_t T,
                          int32_t divisor, float *grad, size_t n, double *loss, char *err, size_t len) {
  Ctx *c = cast(cx);
  if (anbn_status s = check_n(c, n, err, len)) return s;
  try {
    if (!c->loss_and_grad(x, y, B, T, divisor, loss))  // as onednn and torch: no gradient of a non-finite loss
      return set_err(err, len, "non-finite loss or gradient"), ANBN_ERR_NUMERIC;
  } catch (const std::bad_alloc &) {
    return set_err(err, len, "out of memory"), ANBN_ERR_OUT_OF_MEMORY;
  }
  for (size_t i = 0; i < n; ++i) grad[i] = float(c->grad[i]);
  return ANBN_OK;
}

anbn_status ref_forward(anbn_backend_ctx *cx, const int32_t *x, int32_t B, int32_t T, const float *h0,
                        const float *c0, const anbn_forward_out *out, char *err, size_t len) {
  try {
    cast(cx)->forward_lanes(x, B, T, h0, c0, *out);
  } catch (const std::bad_alloc &) {
    return set_err(err, len, "out of memory"), ANBN_ERR_OUT_OF_MEMORY;
  }
  return ANBN_OK;
}

const anbn_backend_iface kRef = {
    ANBN_BACKEND_ABI_VERSION,
    sizeof(anbn_backend_iface),
    "ref",
    nullptr,  // always available
    ref_create,
    ref_destroy,
    ref_get_params,
    ref_set_params,
    ref_get_adam,
    ref_set_adam,
    ref_train_batch,
    ref_forward,
    ref_gradients,
};

}  // namespace

extern "C" const anbn_backend_iface *anbn_ref_backend(void) { return &kRef; }
