// anbn_diagnose: how a model counts, read off its own forward.
//  LSTM / GRU: the unit whose state best tracks the count (#0 - #1 so far)
//    along START 0^n 1^n, its per-step change during the 0s and the 1s, and
//    the extremes of the gates that keep or leak the count.
//  tanh RNN: the fixed point of the 0-phase map h -> tanh(W_ih e_0 + b_ih +
//    W_hh h + b_hh) (layer 0) and the eigenvalues of its Jacobian there.
// One implementation for the CLI (`anbn diagnose`) and the binding
// (`Model.diagnose`), as JSON.
#include <cmath>
#include <complex>
#include <cstring>
#include <nlohmann/json.hpp>

#include "model.hpp"

using json = nlohmann::json;

namespace anbn {
namespace {

json stats(const std::vector<double> &v) {
  if (v.empty()) return json(nullptr);
  double mean = 0, var = 0;
  for (double x : v) mean += x;
  mean /= double(v.size());
  for (double x : v) var += (x - mean) * (x - mean);
  return json{{"mean", mean}, {"std", std::sqrt(var / double(v.size()))}};
}

double corr(const std::vector<double> &a, const std::vector<double> &b) {
  double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < a.size(); ++i) ma += a[i], mb += b[i];
  ma /= double(a.size()), mb /= double(b.size());
  for (size_t i = 0; i < a.size(); ++i)
    sab += (a[i] - ma) * (b[i] - mb), saa += (a[i] - ma) * (a[i] - ma), sbb += (b[i] - mb) * (b[i] - mb);
  return saa > 0 && sbb > 0 ? sab / std::sqrt(saa * sbb) : 0.0;
}

json diagnose_gated(anbn_model *m, int n) {
  // inputs START 0^n 1^n; count after input t: 0, 1..n, n-1..0
  std::vector<int32_t> seq(1, m->alphabet + 1);
  seq.insert(seq.end(), size_t(n), 0);
  seq.insert(seq.end(), size_t(n), 1);
  const size_t T = seq.size(), L = size_t(m->shape.layers), H = size_t(m->shape.hidden);
  const size_t GH = H * size_t(m->shape.gates());
  std::vector<double> count(T);
  for (size_t t = 0; t < T; ++t) count[t] = t <= size_t(n) ? double(t) : double(2 * n) - double(t);
  std::vector<float> h(T * L * H), c(T * L * H), g(T * L * GH);
  const anbn_cells::Def &def = m->shape.def();
  const bool lstm = def.cell_state;
  const anbn_forward_out out{nullptr, h.data(), lstm ? c.data() : nullptr, g.data()};
  ANBN_BE(m, forward, seq.data(), 1, int32_t(T), nullptr, nullptr, &out);
  const std::vector<float> &state = lstm ? c : h;  // the LSTM counts in its cell, the GRU in h
  size_t best_l = 0, best_j = 0;
  double best = -1, best_r = 0;
  for (size_t l = 0; l < L; ++l)
    for (size_t j = 0; j < H; ++j) {
      std::vector<double> s(T);
      for (size_t t = 0; t < T; ++t) s[t] = state[(t * L + l) * H + j];
      const double r = corr(s, count);
      if (std::fabs(r) > best) best = std::fabs(r), best_r = r, best_l = l, best_j = j;
    }
  auto at = [&](const std::vector<float> &v, size_t t, size_t stride, size_t k) { return double(v[(t * L + best_l) * stride + k]); };
  std::vector<double> d0, d1;
  for (size_t t = 1; t < T; ++t) (t <= size_t(n) ? d0 : d1).push_back(at(state, t, H, best_j) - at(state, t - 1, H, best_j));
  // The gate that keeps the count: the LSTM's forget gate f (and input i,
  // row 0); the GRU's update gate z.  Rows as the cell's definition has them.
  const size_t keep = size_t(lstm ? def.forget : 1) * H + best_j, write = best_j;
  auto min_over = [&](size_t row, size_t from, size_t to) {
    double v = INFINITY;
    for (size_t t = from; t <= to; ++t) v = std::min(v, at(g, t, GH, row));
    return v;
  };
  json d{{"cell", def.name},
         {"n", n},
         {"unit", {{"layer", best_l}, {"index", best_j}, {"state", lstm ? "cell" : "hidden"}, {"correlation", best_r}}},
         {"delta_zeros", stats(d0)},
         {"delta_ones", stats(d1)}};
  // Each gate judged: its smallest value in the 0s and in the 1s, its name and
  // its row in the (G*H) gate vector (what a plot draws).
  auto judge = [&](const char *key, const char *gate, size_t row) {
    d[key] = {{"zeros", min_over(row, 1, size_t(n))}, {"ones", min_over(row, size_t(n) + 1, T - 1)}, {"gate", gate}};
    d["gate_rows"][key] = row;
  };
  judge(lstm ? "min_forget" : "min_update_z", lstm ? "forget f" : "update z", keep);
  if (lstm) judge("min_input", "input i", write);
  return d;
}

json diagnose_rnn(anbn_model *m) {
  const size_t H = size_t(m->shape.hidden), E = size_t(m->shape.embed);
  const std::vector<float> p = get_params(m);
  auto tensor = [&](size_t index) { return p.data() + m->params[index].offset; };  // canonical order
  const float *emb = tensor(0), *wih = tensor(1), *whh = tensor(2), *bih = tensor(3), *bhh = tensor(4);
  std::vector<double> drive(H), h(H, 0.0), next(H);
  for (size_t i = 0; i < H; ++i) {  // W_ih e_0 + b_ih + b_hh: the 0-phase's constant input
    drive[i] = double(bih[i]) + double(bhh[i]);
    for (size_t k = 0; k < E; ++k) drive[i] += double(wih[i * E + k]) * double(emb[k]);
  }
  int it = 0;
  double step = INFINITY;
  for (; it < 100000 && step > 1e-13; ++it) {
    step = 0;
    for (size_t i = 0; i < H; ++i) {
      double a = drive[i];
      for (size_t k = 0; k < H; ++k) a += double(whh[i * H + k]) * h[k];
      next[i] = std::tanh(a);
      step = std::max(step, std::fabs(next[i] - h[i]));
    }
    h.swap(next);
  }
  // J = diag(1 - h*^2) W_hh
  std::vector<double> J(H * H);
  for (size_t i = 0; i < H; ++i)
    for (size_t k = 0; k < H; ++k) J[i * H + k] = (1.0 - h[i] * h[i]) * double(whh[i * H + k]);
  json eig = json::array();
  double radius = 0;
  if (H == 1) {
    eig.push_back({{"re", J[0]}, {"im", 0.0}});
    radius = std::fabs(J[0]);
  } else if (H == 2) {
    const double tr = J[0] + J[3], det = J[0] * J[3] - J[1] * J[2];
    const std::complex<double> disc = std::sqrt(std::complex<double>(tr * tr / 4 - det, 0));
    for (const auto &l : {tr / 2 + disc, tr / 2 - disc}) {
      eig.push_back({{"re", l.real()}, {"im", l.imag()}});
      radius = std::max(radius, std::abs(l));
    }
  } else {  // spectral radius by power iteration (|J^k v|^(1/k))
    std::vector<double> v(H, 1.0 / std::sqrt(double(H))), w(H);
    double logsum = 0;
    const int K = 2000;
    for (int k = 0; k < K; ++k) {
      double norm = 0;
      for (size_t i = 0; i < H; ++i) {
        w[i] = 0;
        for (size_t j = 0; j < H; ++j) w[i] += J[i * H + j] * v[j];
        norm += w[i] * w[i];
      }
      norm = std::sqrt(norm);
      if (norm == 0) break;
      logsum += std::log(norm);
      for (size_t i = 0; i < H; ++i) v[i] = w[i] / norm;
    }
    radius = std::exp(logsum / K);
  }
  return json{{"cell", "rnn_tanh"},      {"fixed_point", h},     {"converged", step <= 1e-13},
              {"iterations", it},        {"jacobian", J},        {"eigenvalues", eig},
              {"spectral_radius", radius}};
}

}  // namespace
}  // namespace anbn

using namespace anbn;

extern "C" {

anbn_status anbn_diagnose(anbn_model *m, int32_t n, char *out, size_t capacity, size_t *len_out) {
  return guard([&] {
    ANBN_CHECK_ARG(m && len_out, "model or len_out is NULL");
    ANBN_CHECK_ARG(n >= 1 && n <= 100000, "n must be in 1..1e5, got %d", n);
    ModelLock lock(m);
    const json d = m->shape.cell == ANBN_CELL_RNN_TANH ? diagnose_rnn(m) : diagnose_gated(m, n);
    const std::string text = d.dump();
    *len_out = text.size();
    if (!out && capacity == 0) return ANBN_OK;
    ANBN_CHECK_ARG(out && capacity > text.size(), "the buffer holds %zu bytes, the diagnosis needs %zu", capacity,
                   text.size() + 1);
    std::memcpy(out, text.c_str(), text.size() + 1);
    return ANBN_OK;
  });
}

}  // extern "C"
