// One definition per recurrent cell: its gates, its parameters and its step,
// forward and backward, over B lanes.  The core (names, layout, checkpoints,
// diagnostics), ref (training and inference) and onednn's probes use this;
// a new cell is a row of kCells and a case in step_forward/step_backward.
// Header-only: the plugins cannot link the core.
//
// Lane layout: every array is (rows, B) with the lane innermost, so each
// loop below runs over lanes and vectorizes.  Math is a policy with
// sigmoid/tanh on double (ref's own functions, or <cmath>'s).
#pragma once
#include <cstddef>
#include <cstdint>

#include "anbn/anbn.h"

// Inlined into each caller, so that a caller built for several targets
// (ref's target_clones) gets each its own vectorized copy.
#define ANBN_CELL_INLINE inline __attribute__((always_inline))

namespace anbn_cells {

struct Def {
  int32_t id;          // anbn_cell
  const char *name;    // the API's and the CLI's name
  const char *module;  // state_dict prefix: the seed's SimpleRNN.rnn, SimpleLSTM.lstm
  const char *rows;    // gate rows in order, one letter each
  int gates;           // G: weight_ih is (G*H, in)
  bool cell_state;     // has c (probes report it)
  int peephole;        // rows of weight_peephole_l{l} (3, H: i, f, o), 0 if none
  int forget;          // the forget gate's row (the sweep's --forget-bias), -1 if none
};

inline constexpr Def kCells[] = {
    {ANBN_CELL_RNN_TANH, "rnn_tanh", "rnn", "h", 1, false, 0, -1},
    {ANBN_CELL_LSTM, "lstm", "lstm", "ifgo", 4, true, 0, 1},
    {ANBN_CELL_GRU, "gru", "gru", "rzn", 3, false, 0, -1},
    {ANBN_CELL_PEEPHOLE, "peephole", "lstm", "ifgo", 4, true, 3, 1},
};

// The definition of a cell id; nullptr for an unknown one.
inline const Def *find(int32_t id) {
  for (const Def &d : kCells)
    if (d.id == id) return &d;
  return nullptr;
}

// Forward of one step.  ai, ah: (G*H, B) pre-activations W_ih x + b_ih and
// W_hh h' + b_hh; pp: peephole weights, row r, unit j, lane b at
// pp[(r*H + j)*ps + b*pl] (shared by the lanes: ps 1, pl 0; one set per
// lane, lane innermost: ps B, pl 1), unread without peepholes; hp, cp: (H, B) the
// previous states; h, c: (H, B) the new ones (may be hp, cp: in place, as
// every read of a lane precedes its write); act: (G*H, B) gate activations;
// aux: (H, B) what backward needs besides (LSTM: tanh c; GRU: W_hn h' + b_hn).
// One loop per gate: each vectorizes (one loop for all of them does not).
template <class M>
ANBN_CELL_INLINE void step_forward(const Def &d, int H, size_t B, const double *ai, const double *ah, const float *pp,
                                   size_t ps, size_t pl, const double *hp, const double *cp, double *h, double *c,
                                   double *act, double *aux) {
  for (int j = 0; j < H; ++j) {
    const size_t r0 = size_t(j) * B, r1 = size_t(H + j) * B, r2 = size_t(2 * H + j) * B, r3 = size_t(3 * H + j) * B;
    const double *hpj = hp + r0, *cpj = cp + r0;
    double *hj = h + r0, *cj = c + r0, *xj = aux + r0;
    if (d.id == ANBN_CELL_RNN_TANH) {
      for (size_t b = 0; b < B; ++b) hj[b] = M::tanh(ai[r0 + b] + ah[r0 + b]);
    } else if (d.id == ANBN_CELL_GRU) {
      double *r = act + r0, *z = act + r1, *n = act + r2;
      for (size_t b = 0; b < B; ++b) r[b] = M::sigmoid(ai[r0 + b] + ah[r0 + b]);
      for (size_t b = 0; b < B; ++b) z[b] = M::sigmoid(ai[r1 + b] + ah[r1 + b]);
      for (size_t b = 0; b < B; ++b) xj[b] = ah[r2 + b];
      for (size_t b = 0; b < B; ++b) n[b] = M::tanh(ai[r2 + b] + r[b] * xj[b]);
      for (size_t b = 0; b < B; ++b) hj[b] = (1.0 - z[b]) * n[b] + z[b] * hpj[b];
    } else {  // LSTM, with or without peepholes (P_i, P_f on c', P_o on c)
      double *i = act + r0, *f = act + r1, *g = act + r2, *o = act + r3;
      if (d.peephole) {
        const float *pi = pp + size_t(j) * ps, *pf = pp + size_t(H + j) * ps, *po = pp + size_t(2 * H + j) * ps;
        for (size_t b = 0; b < B; ++b) i[b] = M::sigmoid(ai[r0 + b] + ah[r0 + b] + double(pi[b * pl]) * cpj[b]);
        for (size_t b = 0; b < B; ++b) f[b] = M::sigmoid(ai[r1 + b] + ah[r1 + b] + double(pf[b * pl]) * cpj[b]);
        for (size_t b = 0; b < B; ++b) g[b] = M::tanh(ai[r2 + b] + ah[r2 + b]);
        for (size_t b = 0; b < B; ++b) cj[b] = f[b] * cpj[b] + i[b] * g[b];
        for (size_t b = 0; b < B; ++b) o[b] = M::sigmoid(ai[r3 + b] + ah[r3 + b] + double(po[b * pl]) * cj[b]);
      } else {
        for (size_t b = 0; b < B; ++b) i[b] = M::sigmoid(ai[r0 + b] + ah[r0 + b]);
        for (size_t b = 0; b < B; ++b) f[b] = M::sigmoid(ai[r1 + b] + ah[r1 + b]);
        for (size_t b = 0; b < B; ++b) g[b] = M::tanh(ai[r2 + b] + ah[r2 + b]);
        for (size_t b = 0; b < B; ++b) o[b] = M::sigmoid(ai[r3 + b] + ah[r3 + b]);
        for (size_t b = 0; b < B; ++b) cj[b] = f[b] * cpj[b] + i[b] * g[b];
      }
      for (size_t b = 0; b < B; ++b) xj[b] = M::tanh(cj[b]);
      for (size_t b = 0; b < B; ++b) hj[b] = o[b] * xj[b];
    }
  }
}

// Backward of one step, given what step_forward kept.  dh: (H, B) dloss/dh
// (from above and from step t+1); dc: (H, B) dloss/dc from step t+1 in,
// dloss/dc' out (LSTM); writes dai, dah: (G*H, B) the pre-activations'
// gradients, and dhp: (H, B) the part of dloss/dh' that bypasses W_hh
// (GRU: z dh; else 0); adds the peephole weights' gradient into gpp (laid
// out as pp, step_forward's).
template <class M>
ANBN_CELL_INLINE void step_backward(const Def &d, int H, size_t B, const double *dh, double *dc, const double *hp,
                                    const double *cp, const double *h, const double *c, const double *act,
                                    const double *aux, const float *pp, size_t ps, size_t pl, double *dai,
                                    double *dah, double *dhp, double *gpp) {
  const size_t GB = size_t(d.gates) * H * B;
  for (int j = 0; j < H; ++j) {
    const size_t r0 = size_t(j) * B, r1 = size_t(H + j) * B, r2 = size_t(2 * H + j) * B, r3 = size_t(3 * H + j) * B;
    const double *dhj = dh + r0, *xj = aux + r0;
    double *dhpj = dhp + r0;
    if (d.id == ANBN_CELL_RNN_TANH) {
      for (size_t b = 0; b < B; ++b) dai[r0 + b] = dh[r0 + b] * (1.0 - h[r0 + b] * h[r0 + b]);
      for (size_t b = 0; b < B; ++b) dhpj[b] = 0.0;
    } else if (d.id == ANBN_CELL_GRU) {
      const double *r = act + r0, *z = act + r1, *n = act + r2, *hpj = hp + r0;
      for (size_t b = 0; b < B; ++b) {
        const double dan = dhj[b] * (1.0 - z[b]) * (1.0 - n[b] * n[b]);
        dai[r0 + b] = dah[r0 + b] = dan * xj[b] * r[b] * (1.0 - r[b]);
        dai[r1 + b] = dah[r1 + b] = dhj[b] * (hpj[b] - n[b]) * z[b] * (1.0 - z[b]);
        dai[r2 + b] = dan;
        dah[r2 + b] = dan * r[b];
        dhpj[b] = dhj[b] * z[b];
      }
    } else {
      const double *i = act + r0, *f = act + r1, *g = act + r2, *o = act + r3, *cpj = cp + r0, *cj = c + r0;
      double *dcj = dc + r0;
      const size_t qi = size_t(j) * ps, qf = size_t(H + j) * ps, qo = size_t(2 * H + j) * ps;  // peephole rows
      for (size_t b = 0; b < B; ++b) {
        const double tc = xj[b];
        const double dao = dhj[b] * tc * o[b] * (1.0 - o[b]);
        double dcb = dcj[b] + dhj[b] * o[b] * (1.0 - tc * tc);
        if (d.peephole) dcb += dao * double(pp[qo + b * pl]);
        const double dai_i = dcb * g[b] * i[b] * (1.0 - i[b]), dai_f = dcb * cpj[b] * f[b] * (1.0 - f[b]);
        dai[r0 + b] = dai_i;
        dai[r1 + b] = dai_f;
        dai[r2 + b] = dcb * i[b] * (1.0 - g[b] * g[b]);
        dai[r3 + b] = dao;
        dcj[b] = d.peephole ? dcb * f[b] + dai_i * double(pp[qi + b * pl]) + dai_f * double(pp[qf + b * pl]) : dcb * f[b];
        dhpj[b] = 0.0;
      }
      if (d.peephole)
        for (size_t b = 0; b < B; ++b) {
          gpp[qi + b * pl] += dai[r0 + b] * cpj[b];
          gpp[qf + b * pl] += dai[r1 + b] * cpj[b];
          gpp[qo + b * pl] += dai[r3 + b] * cj[b];
        }
    }
  }
  if (d.id != ANBN_CELL_GRU)  // the recurrent pre-activations are the input ones
    for (size_t k = 0; k < GB; ++k) dah[k] = dai[k];
}

}  // namespace anbn_cells
