// The reference backend: the oracle every other backend is measured against.
// Plain C++, everything accumulated in double, the sequences of a batch in
// lanes; the cells are backends/common/cell.hpp's; the parameters and Adam
// state are float32 as in PyTorch.  Numerics are
// DESIGN.md §2 exactly (PyTorch's RNN/LSTM/GRU, log-softmax, NLL / len, Adam).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <memory>
#include <new>
#include <utility>
#include <vector>

#include "anbn/backend.h"
#include "../common/plugin_util.hpp"
#include "ref_math.hpp"

namespace {

using std::size_t;
using Vec = std::vector<double>;

using anbn_plugin::set_err;

using Layer = anbn_plugin::Layout::Layer;  // offsets into the flat parameters

// The cell's math: ref's own exp/tanh (the same bits on every machine).
struct RefMath {
  static double sigmoid(double x) { return ref_math::sigmoid(x); }
  static double tanh(double x) { return ref_math::tanh(x); }
};

// Built for AVX-512, AVX2 and the baseline; the loader picks one (ifunc).
// No FMA in any of them (-ffp-contract=off): the same bits on each.
// Not under TSan: its instrumented ifunc resolver runs before TSan starts.
// Not with clang, which does not multiversion templates (speed only: the
// bits are the same without).
#if defined(__SANITIZE_THREAD__) || defined(__clang__)
#define ANBN_LANE_CLONES
#else
#define ANBN_LANE_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif

// Adam's element update (AdamStep's arithmetic) over NT parameters x NP
// lanes, lane innermost, lane b with its own step size ss[b] and bias
// correction bc2[b].  acc[b] gathers x * 0 over lane b's new values: it
// stays 0 while all are finite and turns NaN after an inf or a NaN (a
// compare and a flag per element would not vectorize).  A free function
// with restrict pointers: as a member, it did not vectorize.
ANBN_LANE_CLONES void adam_elements(size_t NT, size_t NP, const float *__restrict pp, const float *__restrict mp,
                                    const float *__restrict vp, const double *__restrict gp,
                                    const double *__restrict ss, const double *__restrict bc2, float *__restrict nmp,
                                    float *__restrict nvp, float *__restrict npp, float *__restrict acc, double b1,
                                    double b2, double eps) {
  for (size_t i = 0; i < NT; ++i)
    for (size_t b = 0; b < NP; ++b) {
      const size_t k = i * NP + b;
      const double g = gp[k];
      const float m1 = float(b1 * mp[k] + (1.0 - b1) * g), v1 = float(b2 * vp[k] + (1.0 - b2) * g * g);
      const double denom = std::sqrt(double(v1)) / bc2[b] + eps;
      const float p1 = float(double(pp[k]) - ss[b] * double(m1) / denom);
      nmp[k] = m1, nvp[k] = v1, npp[k] = p1;
      acc[b] += (p1 * 0.f + m1 * 0.f) + v1 * 0.f;
    }
}

// What a training forward keeps for backward, per layer; every array is
// (rows, B) per step, lane innermost.
struct Cache {
  int T = 0;
  std::vector<Vec> x;    // layer 0 only: (T, E, B) the embedding rows (layer l > 0 reads h of l-1)
  std::vector<Vec> h;    // (T+1, H, B): step 0 is the initial state
  std::vector<Vec> c;    // (T+1, H, B): the LSTM's cell
  std::vector<Vec> act;  // (T, G*H, B): gate activations
  std::vector<Vec> aux;  // (T, H, B): LSTM tanh(c) / GRU W_hn h' + b_hn
  Vec logp;              // (T, O, B)
};

struct Ctx {
  anbn_backend_desc d{};
  const anbn_cells::Def *cell = nullptr;
  int G = 1, H = 0, O = 0, V = 0, E = 0, L = 0;
  // Parameters and Adam moments in canonical order.  A population of P
  // members keeps them lane-innermost: parameter i of member b at [i*P + b].
  std::vector<float> p, m, v;
  int64_t step = 0;
  size_t total = 0, P = 0;      // P = 0: one model; else the population's size
  std::vector<int64_t> steps;   // a population's step per member
  static constexpr size_t kBlock = 64;
  std::vector<size_t> perm, start;  // a population step's lane order (by length)
  std::vector<int32_t> px, py, pT, pdiv;
  std::vector<double> ploss, gtmp;
  std::vector<char> ok, pok, bad;  // per member / per lane
  std::vector<float> tmpf, acc, gathered;
  size_t emb = 0, fcw = 0, fcb = 0;
  std::vector<Layer> layers;
  Cache cache;
  std::vector<float> nm, nv, np;  // Adam's next values
  Vec grad;
  Vec proj, erows, hs, cs, ail, ahl, actl, auxl, zl;                     // forward scratch
  Vec dh_in, dh_below, dh_next, dc_next, dh, dhp, dai, dah, dz, nll, scale, wt;  // backward scratch
  std::vector<int32_t> yt;

  bool init(const anbn_backend_desc &desc, size_t members = 0) {
    d = desc;
    cell = anbn_cells::find(d.cell);
    G = cell->gates;
    H = d.hidden, O = d.output, V = d.vocab, E = d.embed, L = d.layers;
    const anbn_plugin::Layout lay(d, *cell);
    emb = lay.emb, fcw = lay.fcw, fcb = lay.fcb, layers = lay.layers, total = lay.total, P = members;
    const size_t n = total * (P ? P : 1);
    p.assign(n, 0.f), m.assign(n, 0.f), v.assign(n, 0.f);
    grad.assign(n, 0.0);
    steps.assign(P, 0);
    cache.x.resize(1), cache.h.resize(L), cache.c.resize(L), cache.act.resize(L), cache.aux.resize(L);
    return true;
  }

  // Compiled once per cell of the table (CI: its index, so the step's
  // branches on the cell fold away), for NB lanes known at compile time (1:
  // the seed's regime, one sequence a step, where the loops over lanes
  // vanish; else 0 and B lanes), and with the lanes sharing one set of
  // parameters or each its own (PL: a population).
  template <class F, size_t... CI>
  void per_cell(F &&f, std::index_sequence<CI...>) const {
    ((cell == &anbn_cells::kCells[CI] ? f(std::integral_constant<size_t, CI>{}) : void()), ...);
  }
  template <class F>
  void dispatch(int B, F &&f) const {
    using One = std::integral_constant<int, 1>;
    using Any = std::integral_constant<int, 0>;
    per_cell([&](auto ci) { P ? f(ci, Any{}, std::true_type{}) : B == 1 ? f(ci, One{}, std::false_type{})
                                                                        : f(ci, Any{}, std::false_type{}); },
             std::make_index_sequence<std::size(anbn_cells::kCells)>{});
  }

  // The one forward: B sequences x (B, T) in lockstep, one lane each, from
  // h0, c0 (layers, B, H) (NULL = 0).  Training (train) keeps every step in
  // the cache for backward; inference keeps only the current states and
  // writes what `out` asks for.  Each pre-activation is b + sum_k W[., k] in[k]
  // in k order, whichever path computes it: the same bits either way, and a
  // population member's lane the same bits as that model alone.
  // x's rows are xs apart (0: T); a population's block of B lanes starts at member lane0.
  void forward(const int32_t *x, int B, int T, const float *h0, const float *c0, const anbn_forward_out &out,
               bool train, size_t lane0 = 0, int xs = 0) {
    dispatch(B, [&](auto ci, auto nb, auto pl) {
      forward_t<decltype(ci)::value, decltype(nb)::value, decltype(pl)::value>(x, B, T, h0, c0, out, train, lane0,
                                                                             xs ? xs : T);
    });
  }
  template <size_t CI, int NB, bool PL>
  ANBN_LANE_CLONES void forward_t(const int32_t *x, int B, int T, const float *h0, const float *c0,
                                  const anbn_forward_out &out, bool train, size_t lane0, int xs) {
    constexpr const anbn_cells::Def &D = anbn_cells::kCells[CI];
    const float *pw = p.data() + lane0;  // lane b's parameter i: pw[i*LS + b*LB]
    const int GH = G * H;
    const size_t nb = NB ? size_t(NB) : size_t(B), HB = size_t(H) * nb, GB = size_t(GH) * nb;
    const size_t LS = PL ? P : 1, LB = PL ? 1 : 0;  // a population: members lane0.., stride P
    const bool proj0 = !train && !PL;  // shared inference: layer 0's b_ih + W_ih e once per token of the vocabulary
    if (proj0) {
      proj.resize(size_t(V) * GH);  // (V, G*H)
      for (int v = 0; v < V; ++v)
        for (int g = 0; g < GH; ++g) {
          double s = pw[layers[0].bih + g];
          for (int k = 0; k < E; ++k) s += double(pw[layers[0].wih + size_t(g) * E + k]) * pw[emb + size_t(v) * E + k];
          proj[size_t(v) * GH + g] = s;
        }
    }
    Cache &C = cache;
    if (train) {
      C.T = T;
      C.x[0].resize(size_t(T) * E * nb);
      for (int l = 0; l < L; ++l) {
        C.h[l].resize(size_t(T + 1) * HB), C.c[l].resize(size_t(T + 1) * HB);
        C.act[l].resize(size_t(T) * GB), C.aux[l].resize(size_t(T) * HB);
      }
      C.logp.resize(size_t(T) * O * nb);
    } else {
      hs.resize(size_t(L) * HB), cs.resize(hs.size()), actl.resize(GB), auxl.resize(HB);
    }
    ail.resize(GB), ahl.resize(GB), zl.resize(size_t(O + 2) * nb);
    for (int l = 0; l < L; ++l) {  // initial states: (layers, B, H) -> (H, B) per layer
      double *h = train ? C.h[l].data() : &hs[size_t(l) * HB], *c = train ? C.c[l].data() : &cs[size_t(l) * HB];
      for (int j = 0; j < H; ++j)
        for (size_t b = 0; b < nb; ++b) {
          const size_t src = (size_t(l) * nb + b) * H + j;
          h[j * nb + b] = h0 ? h0[src] : 0.0, c[j * nb + b] = c0 ? c0[src] : 0.0;
        }
    }
    for (int t = 0; t < T; ++t) {
      for (int l = 0; l < L; ++l) {
        const Layer &ly = layers[l];
        double *hp, *cp, *h, *c, *act, *aux;  // (H, B) previous and new states; (G*H, B), (H, B) kept
        if (train) {
          hp = &C.h[l][size_t(t) * HB], h = hp + HB, cp = &C.c[l][size_t(t) * HB], c = cp + HB;
          act = &C.act[l][size_t(t) * GB], aux = &C.aux[l][size_t(t) * HB];
        } else {
          hp = h = &hs[size_t(l) * HB], cp = c = &cs[size_t(l) * HB], act = actl.data(), aux = auxl.data();
        }
        const double *in;  // (in, B) the layer's input at t
        if (l > 0) {
          in = train ? &C.h[l - 1][size_t(t + 1) * HB] : &hs[size_t(l - 1) * HB];
        } else {
          double *e = nullptr;  // (E, B) the embedding rows; kept when training
          if (train) e = &C.x[0][size_t(t) * E * nb];
          else if (!proj0) e = (erows.resize(size_t(E) * nb), erows.data());
          if (e)
            for (int k = 0; k < E; ++k)
              for (size_t b = 0; b < nb; ++b) e[k * nb + b] = pw[(emb + size_t(x[b * xs + t]) * E + k) * LS + b * LB];
          in = e;
        }
        double *__restrict ai = ail.data(), *__restrict ah = ahl.data();
        for (int g = 0; g < GH; ++g) {  // (G*H, B) input and recurrent pre-activations
          if (!in) {
            for (size_t b = 0; b < nb; ++b) ai[g * nb + b] = proj[size_t(x[b * xs + t]) * GH + g];
          } else {
            const float *w = &pw[(ly.wih + size_t(g) * ly.in) * LS];
            for (size_t b = 0; b < nb; ++b) ai[g * nb + b] = pw[(ly.bih + g) * LS + b * LB];
            for (int k = 0; k < ly.in; ++k)
              for (size_t b = 0; b < nb; ++b) ai[g * nb + b] += double(w[k * LS + b * LB]) * in[k * nb + b];
          }
          const float *w = &pw[(ly.whh + size_t(g) * H) * LS];
          for (size_t b = 0; b < nb; ++b) ah[g * nb + b] = pw[(ly.bhh + g) * LS + b * LB];
          for (int k = 0; k < H; ++k)
            for (size_t b = 0; b < nb; ++b) ah[g * nb + b] += double(w[k * LS + b * LB]) * hp[k * nb + b];
        }
        anbn_cells::step_forward<RefMath>(D, H, nb, ai, ah, &pw[ly.pp * LS], LS, LB, hp, cp, h, c, act, aux);
        if (out.gates && G > 1)
          for (size_t b = 0; b < nb; ++b)
            for (int g = 0; g < GH; ++g) out.gates[((b * T + t) * L + l) * GH + g] = float(act[g * nb + b]);
      }
      const double *top = train ? &C.h[L - 1][size_t(t + 1) * HB] : &hs[size_t(L - 1) * HB];
      if (train || out.log_probs) {  // (O, B) = log_softmax(W_fc h + b_fc)
        double *__restrict z = train ? &C.logp[size_t(t) * O * nb] : zl.data();
        for (int o = 0; o < O; ++o) {
          for (size_t b = 0; b < nb; ++b) z[o * nb + b] = pw[(fcb + o) * LS + b * LB];
          for (int j = 0; j < H; ++j)
            for (size_t b = 0; b < nb; ++b)
              z[o * nb + b] += double(pw[(fcw + size_t(o) * H + j) * LS + b * LB]) * top[j * nb + b];
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
          for (size_t b = 0; b < nb; ++b) z[o * nb + b] -= mx[b];
        if (out.log_probs)
          for (int o = 0; o < O; ++o)
            for (size_t b = 0; b < nb; ++b) out.log_probs[(b * T + t) * O + o] = float(z[o * nb + b]);
      }
      if (out.hidden || out.cell)
        for (size_t b = 0; b < nb; ++b)
          for (int l = 0; l < L; ++l) {
            const double *h = train ? &C.h[l][size_t(t + 1) * HB] : &hs[size_t(l) * HB];
            const double *c = train ? &C.c[l][size_t(t + 1) * HB] : &cs[size_t(l) * HB];
            for (int j = 0; j < H; ++j) {
              const size_t dst = ((b * T + t) * L + l) * H + j;
              if (out.hidden) out.hidden[dst] = float(h[j * nb + b]);
              if (out.cell) out.cell[dst] = float(c[j * nb + b]);
            }
          }
    }
  }

  // Backpropagation through time of the cached batch, targets y (B, T), lane
  // b's loss scaled by scale[b] and, when Tl is given, only its first Tl[b]
  // steps counted (a population's members have sequences of their own
  // lengths; the rest of a lane adds exact zeros).  Accumulates into grad;
  // leaves each lane's summed NLL in nll.
  void backward(const int32_t *x, const int32_t *y, int B, const int32_t *Tl, size_t lane0 = 0, int xs = 0) {
    dispatch(B, [&](auto ci, auto nb, auto pl) {
      backward_t<decltype(ci)::value, decltype(nb)::value, decltype(pl)::value>(x, y, B, Tl, lane0, xs ? xs : cache.T);
    });
  }
  template <size_t CI, int NB, bool PL>
  ANBN_LANE_CLONES void backward_t(const int32_t *x, const int32_t *y, int B, const int32_t *Tl, size_t lane0, int xs) {
    constexpr const anbn_cells::Def &D = anbn_cells::kCells[CI];
    const float *pw = p.data() + lane0;
    double *gw = grad.data() + lane0;
    const Cache &C = cache;
    const int T = C.T, GH = G * H;
    const size_t nb = NB ? size_t(NB) : size_t(B), HB = size_t(H) * nb, GB = size_t(GH) * nb;
    const size_t LS = PL ? P : 1, LB = PL ? 1 : 0;  // parameter i of lane b: pw[i*LS + b*LB], its gradient gw[...]
    dh_in.assign(size_t(T) * HB, 0.0);  // (T, H, B): dloss/dh of the current layer from above
    dz.resize(size_t(O) * nb), nll.assign(nb, 0.0), yt.resize(nb), wt.resize(nb);
    for (int t = 0; t < T; ++t) {
      const double *lp = &C.logp[size_t(t) * O * nb], *h = &C.h[L - 1][size_t(t + 1) * HB];
      double *dht = &dh_in[size_t(t) * HB];
      for (size_t b = 0; b < nb; ++b) {  // this step's target and weight per lane: scale, or 0 past its length
        yt[b] = y[b * xs + t];
        wt[b] = !Tl || t < Tl[b] ? scale[b] : 0.0;
        if (wt[b] != 0.0) nll[b] -= lp[size_t(yt[b]) * nb + b];
      }
      for (int o = 0; o < O; ++o)  // (exp - onehot) * scale: the same bits as one model, exact zeros past the end
        for (size_t b = 0; b < nb; ++b)
          dz[o * nb + b] = (ref_math::exp(lp[o * nb + b]) - (o == yt[b] ? 1.0 : 0.0)) * wt[b];
      for (int o = 0; o < O; ++o) {
        for (size_t b = 0; b < nb; ++b) gw[(fcb + o) * LS + b * LB] += dz[o * nb + b];
        for (int j = 0; j < H; ++j) {
          const size_t wi = fcw + size_t(o) * H + j;
          for (size_t b = 0; b < nb; ++b) {
            gw[wi * LS + b * LB] += dz[o * nb + b] * h[j * nb + b];
            dht[j * nb + b] += dz[o * nb + b] * double(pw[wi * LS + b * LB]);
          }
        }
      }
    }
    dai.resize(GB), dah.resize(GB), dh.resize(HB), dhp.resize(HB);
    for (int l = L - 1; l >= 0; --l) {
      const Layer &ly = layers[l];
      const size_t IB = size_t(ly.in) * nb;
      dh_below.assign(size_t(T) * IB, 0.0);  // (T, in, B)
      dh_next.assign(HB, 0.0), dc_next.assign(HB, 0.0);
      for (int t = T - 1; t >= 0; --t) {
        const double *hp = &C.h[l][size_t(t) * HB], *cp = &C.c[l][size_t(t) * HB];
        const double *xt = l ? &C.h[l - 1][size_t(t + 1) * HB] : &C.x[0][size_t(t) * IB];
        for (size_t k = 0; k < HB; ++k) dh[k] = dh_in[size_t(t) * HB + k] + dh_next[k];
        anbn_cells::step_backward<RefMath>(D, H, nb, dh.data(), dc_next.data(), hp, cp, hp + HB, cp + HB,
                                           &C.act[l][size_t(t) * GB], &C.aux[l][size_t(t) * HB], &pw[ly.pp * LS], LS,
                                           LB, dai.data(), dah.data(), dhp.data(), &gw[ly.pp * LS]);
        dh_next.swap(dhp);  // dh' = the bypass (GRU: z dh) + W_hh^T dah;  weight gradients
        double *dxt = &dh_below[size_t(t) * IB];
        for (int g = 0; g < GH; ++g) {
          const double *ag = &dai[size_t(g) * nb], *hg = &dah[size_t(g) * nb];
          for (size_t b = 0; b < nb; ++b) gw[(ly.bih + g) * LS + b * LB] += ag[b];
          for (size_t b = 0; b < nb; ++b) gw[(ly.bhh + g) * LS + b * LB] += hg[b];
          const size_t wih = ly.wih + size_t(g) * ly.in, whh = ly.whh + size_t(g) * H;
          for (int k = 0; k < ly.in; ++k)
            for (size_t b = 0; b < nb; ++b) {
              gw[(wih + k) * LS + b * LB] += ag[b] * xt[k * nb + b];
              dxt[k * nb + b] += ag[b] * double(pw[(wih + k) * LS + b * LB]);
            }
          for (int k = 0; k < H; ++k)
            for (size_t b = 0; b < nb; ++b) {
              gw[(whh + k) * LS + b * LB] += hg[b] * hp[k * nb + b];
              dh_next[k * nb + b] += hg[b] * double(pw[(whh + k) * LS + b * LB]);
            }
        }
      }
      if (l > 0) {
        dh_in.swap(dh_below);
      } else {
        for (int t = 0; t < T; ++t)
          for (size_t b = 0; b < nb; ++b)
            for (int k = 0; k < E; ++k)
              gw[(emb + size_t(x[b * xs + t]) * E + k) * LS + b * LB] += dh_below[size_t(t) * IB + k * nb + b];
      }
    }
  }

  // Loss and gradient (into grad) of a batch; returns false if non-finite.
  bool loss_and_grad(const int32_t *x, const int32_t *y, int B, int T, int divisor, double *loss) {
    std::fill(grad.begin(), grad.end(), 0.0);
    const double s = 1.0 / (double(divisor) * B);
    scale.assign(size_t(B), s);
    forward(x, B, T, nullptr, nullptr, anbn_forward_out{}, true);
    backward(x, y, B, nullptr);
    double total = 0.0;
    for (double n : nll) total += n;
    *loss = total * s;
    if (!std::isfinite(*loss)) return false;
    for (double g : grad)
      if (!std::isfinite(g)) return false;
    return true;
  }

  bool adam(const anbn_adam_hparams &hp) { return anbn_plugin::adam_step(p, m, v, grad, step, hp, nm, nv, np); }

  // Adam for every lane into nm/nv/np (committed by the caller): AdamStep's
  // arithmetic, element for element, with each member's own step; bad[b] set
  // where a new value is not finite.
  void adam_lanes(const anbn_adam_hparams &hp, char *bad) {
    std::vector<double> ss(P), bc2(P);
    for (size_t b = 0; b < P; ++b) {
      if (b && steps[b] == steps[b - 1]) {  // the usual case: the members in step (two pow calls saved)
        ss[b] = ss[b - 1], bc2[b] = bc2[b - 1];
        continue;
      }
      const anbn_plugin::AdamStep a(hp, steps[b] + 1);
      ss[b] = a.step_size, bc2[b] = a.bc2_sqrt;
    }
    nm.resize(p.size()), nv.resize(p.size()), np.resize(p.size());
    acc.assign(P, 0.f);
    adam_elements(total, P, p.data(), m.data(), v.data(), grad.data(), ss.data(), bc2.data(), nm.data(), nv.data(),
                  np.data(), acc.data(), hp.beta1, hp.beta2, hp.eps);
    for (size_t b = 0; b < P; ++b) bad[b] = char(bad[b] | (acc[b] != 0.f));
  }

  // Inference of a population with lane b computed by member members[b]: a
  // run of consecutive members reads them in place; any other list is
  // gathered into lane order first (a member's arithmetic is the same in
  // any lane).
  void forward_members(const int32_t *members, int count, const int32_t *x, int T, const float *h0, const float *c0,
                       const anbn_forward_out &out) {
    bool run = true;
    for (int b = 1; b < count && run; ++b) run = members[b] == members[0] + b;
    if (run) return forward(x, count, T, h0, c0, out, false, size_t(members[0]));
    const size_t n = size_t(count);
    gathered.resize(total * n);
    for (size_t i = 0; i < total; ++i)
      for (size_t b = 0; b < n; ++b) gathered[i * n + b] = p[i * P + size_t(members[b])];
    struct Swap {  // the gathered lanes stand in for the population during the call
      Ctx &c;
      size_t P0;
      Swap(Ctx &cx, size_t lanes) : c(cx), P0(cx.P) { c.p.swap(c.gathered), c.P = lanes; }
      ~Swap() { c.p.swap(c.gathered), c.P = P0; }
    } swap(*this, n);
    forward(x, count, T, h0, c0, out, false, 0);
  }

  // A population's step: every member with T[b] > 0 trains on its own
  // sequence as one model would (train_batch, B = 1), in lanes.  A member
  // whose loss, gradient or update is not finite is left as it was.  The
  // parameters, Adam moments and steps stay in member order; only the
  // forward and backward see the lanes reordered.
  void pop_step(const int32_t *x, const int32_t *y, int Tmax, const int32_t *T, const int32_t *divisor,
                const anbn_adam_hparams &hp, double *loss, anbn_status *status) {
    std::fill(grad.begin(), grad.end(), 0.0);
    ok.assign(P, 0);
    if (P <= kBlock) {
      lanes_grad(x, y, Tmax, T, divisor, loss, ok.data());
    } else {
      // More than one block: the lanes are put in order of this step's
      // lengths (longest first), so that a block runs to about its own
      // members' lengths rather than the population's longest.  A member's
      // arithmetic is the same in any lane.  The parameters go into that
      // order and the gradient comes back: two gathers a step.
      // A stable counting sort, longest first (lengths are 0..Tmax).
      perm.resize(P), start.assign(size_t(Tmax) + 2, 0);
      for (size_t b = 0; b < P; ++b) ++start[size_t(Tmax - T[b]) + 1];
      for (size_t i = 1; i < start.size(); ++i) start[i] += start[i - 1];
      for (size_t b = 0; b < P; ++b) perm[start[size_t(Tmax - T[b])]++] = b;
      const size_t row = size_t(Tmax);
      px.resize(P * row), py.resize(P * row), pT.resize(P), pdiv.resize(P), ploss.resize(P), pok.assign(P, 0);
      for (size_t r = 0; r < P; ++r) {  // a lane's own steps; past them, tokens left from before (valid, never scored)
        const size_t b = perm[r];
        for (int t = 0; t < T[b]; ++t) px[r * row + size_t(t)] = x[b * row + size_t(t)], py[r * row + size_t(t)] = y[b * row + size_t(t)];
        pT[r] = T[b], pdiv[r] = divisor[b];
      }
      tmpf.resize(p.size());
      for (size_t i = 0; i < total; ++i)
        for (size_t r = 0; r < P; ++r) tmpf[i * P + r] = p[i * P + perm[r]];
      p.swap(tmpf);  // lane order while the lanes run
      lanes_grad(px.data(), py.data(), Tmax, pT.data(), pdiv.data(), ploss.data(), pok.data());
      p.swap(tmpf);
      gtmp.resize(grad.size());
      for (size_t i = 0; i < total; ++i)
        for (size_t r = 0; r < P; ++r) gtmp[i * P + perm[r]] = grad[i * P + r];
      grad.swap(gtmp);
      for (size_t r = 0; r < P; ++r) loss[perm[r]] = ploss[r], ok[perm[r]] = pok[r];
    }
    update(hp, T, status);
  }

  // Forward and backward of each block of kBlock lanes (a block's
  // activations stay in cache, and it runs only to its own longest
  // sequence), the gradient into grad (zeroed by the caller); ok[b]: lane b
  // ran and its loss is finite.
  void lanes_grad(const int32_t *x, const int32_t *y, int Tmax, const int32_t *T, const int32_t *divisor, double *loss,
                  char *ok_out) {
    for (size_t b0 = 0; b0 < P; b0 += kBlock) {
      const size_t nb = std::min(kBlock, P - b0);
      int Tb = 0;
      for (size_t b = 0; b < nb; ++b) Tb = std::max(Tb, int(T[b0 + b]));
      if (Tb == 0) continue;
      scale.resize(nb);
      for (size_t b = 0; b < nb; ++b) scale[b] = 1.0 / (double(divisor[b0 + b]) * 1);
      const int32_t *xb = x + b0 * size_t(Tmax), *yb = y + b0 * size_t(Tmax);
      forward(xb, int(nb), Tb, nullptr, nullptr, anbn_forward_out{}, true, b0, Tmax);
      backward(xb, yb, int(nb), T + b0, b0, Tmax);
      for (size_t b = 0; b < nb; ++b) {
        loss[b0 + b] = nll[b] * scale[b];
        ok_out[b0 + b] = T[b0 + b] > 0 && std::isfinite(loss[b0 + b]);
      }
    }
  }

  // Clipping and Adam for every member, in member order; commits the
  // members that ran and stayed finite.  A non-finite gradient needs no
  // check of its own: it makes the new first moment non-finite (NaN and
  // inf survive b1 m + (1 - b1) g, and clipping's factor), so adam_lanes
  // flags the member.
  void update(const anbn_adam_hparams &hp, const int32_t *T, anbn_status *status) {
    if (hp.clip_norm > 0.f) {  // each member's own norm, summed in its own index order
      std::vector<double> sq(P, 0.0);
      for (size_t i = 0; i < total; ++i)
        for (size_t b = 0; b < P; ++b) sq[b] += grad[i * P + b] * grad[i * P + b];
      for (size_t b = 0; b < P; ++b) {
        const double coef = anbn_plugin::clip_coef(hp.clip_norm, sq[b]);
        if (coef < 1.0 && ok[b])
          for (size_t i = 0; i < total; ++i) grad[i * P + b] = grad[i * P + b] * coef;
      }
    }
    bad.assign(P, 0);
    adam_lanes(hp, bad.data());
    bool all = true;
    for (size_t b = 0; b < P; ++b) {
      ok[b] = ok[b] && !bad[b];  // now: commit
      all = all && ok[b];
      status[b] = ok[b] || T[b] <= 0 ? ANBN_OK : ANBN_ERR_NUMERIC;
      steps[b] += ok[b];
    }
    if (all) {  // the usual case: the new values become the values
      p.swap(np), m.swap(nm), v.swap(nv);
      return;
    }
    for (size_t i = 0; i < total; ++i)
      for (size_t b = 0; b < P; ++b) {
        const size_t k = i * P + b;
        const bool c = ok[b];
        m[k] = c ? nm[k] : m[k], v[k] = c ? nv[k] : v[k], p[k] = c ? np[k] : p[k];
      }
  }
};

Ctx *cast(anbn_backend_ctx *c) { return reinterpret_cast<Ctx *>(c); }

anbn_status ref_create(const anbn_backend_desc *d, anbn_backend_ctx **out, char *err, size_t len) {
  if (!d || !out || d->struct_size < sizeof(anbn_backend_desc) || !anbn_cells::find(d->cell)) {
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
    cast(cx)->forward(x, B, T, h0, c0, *out, false);
  } catch (const std::bad_alloc &) {
    return set_err(err, len, "out of memory"), ANBN_ERR_OUT_OF_MEMORY;
  }
  return ANBN_OK;
}

// ------------------------------------------------------------ population

anbn_status pop_create(const anbn_backend_desc *d, int32_t members, anbn_backend_ctx **out, char *err, size_t len) {
  if (!d || !out || d->struct_size < sizeof(anbn_backend_desc) || !anbn_cells::find(d->cell) || members < 1)
    return set_err(err, len, "bad descriptor or member count"), ANBN_ERR_INVALID_ARGUMENT;
  return anbn_plugin::guard(err, len, [&] {
    auto c = std::make_unique<Ctx>();
    c->init(*d, size_t(members));
    *out = reinterpret_cast<anbn_backend_ctx *>(c.release());
    return ANBN_OK;
  });
}

anbn_status pop_check(Ctx *c, int32_t i, size_t n, char *err, size_t len) {
  if (i < 0 || size_t(i) >= c->P) return set_err(err, len, "no such member"), ANBN_ERR_INVALID_ARGUMENT;
  return anbn_plugin::check_count(c->total, n, err, len);
}

anbn_status pop_set_member(anbn_backend_ctx *cx, int32_t i, const float *p, const float *m, const float *v, size_t n,
                           int64_t step, char *err, size_t len) {
  Ctx *c = cast(cx);
  if (anbn_status s = pop_check(c, i, n, err, len)) return s;
  for (size_t k = 0; k < n; ++k) {
    const size_t at = k * c->P + size_t(i);
    c->p[at] = p[k], c->m[at] = m[k], c->v[at] = v[k];
  }
  c->steps[size_t(i)] = step;
  return ANBN_OK;
}

anbn_status pop_get_member(anbn_backend_ctx *cx, int32_t i, float *p, float *m, float *v, size_t n, int64_t *step,
                           char *err, size_t len) {
  Ctx *c = cast(cx);
  if (anbn_status s = pop_check(c, i, n, err, len)) return s;
  for (size_t k = 0; k < n; ++k) {
    const size_t at = k * c->P + size_t(i);
    p[k] = c->p[at], m[k] = c->m[at], v[k] = c->v[at];
  }
  *step = c->steps[size_t(i)];
  return ANBN_OK;
}

anbn_status pop_train_step(anbn_backend_ctx *cx, const int32_t *x, const int32_t *y, int32_t Tmax, const int32_t *T,
                           const int32_t *divisor, const anbn_adam_hparams *hp, double *loss, anbn_status *status,
                           char *err, size_t len) {
  Ctx *c = cast(cx);
  if (!x || !y || !T || !divisor || !hp || !loss || !status || Tmax < 0)
    return set_err(err, len, "bad arguments"), ANBN_ERR_INVALID_ARGUMENT;
  for (size_t b = 0; b < c->P; ++b)
    if (T[b] < 0 || T[b] > Tmax || (T[b] > 0 && divisor[b] < 1))
      return set_err(err, len, "member lengths must be in 0..Tmax, divisors >= 1"), ANBN_ERR_INVALID_ARGUMENT;
  return anbn_plugin::guard(err, len, [&] {
    c->pop_step(x, y, Tmax, T, divisor, *hp, loss, status);
    return ANBN_OK;
  });
}

anbn_status pop_forward(anbn_backend_ctx *cx, const int32_t *members, int32_t count, const int32_t *x, int32_t T,
                        const float *h0, const float *c0, const anbn_forward_out *out, char *err, size_t len) {
  Ctx *c = cast(cx);
  if (!members || count < 1 || T < 1 || !x || !out)
    return set_err(err, len, "bad member list or arguments"), ANBN_ERR_INVALID_ARGUMENT;
  for (int32_t b = 0; b < count; ++b)
    if (members[b] < 0 || size_t(members[b]) >= c->P) return set_err(err, len, "no such member"), ANBN_ERR_INVALID_ARGUMENT;
  return anbn_plugin::guard(err, len, [&] {
    c->forward_members(members, count, x, T, h0, c0, *out);
    return ANBN_OK;
  });
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
    pop_create,
    pop_set_member,
    pop_get_member,
    pop_train_step,
    pop_forward,
};

}  // namespace

extern "C" const anbn_backend_iface *anbn_ref_backend(void) { return &kRef; }
