// anbn diagnose: how a model counts, read off the probe.
//  LSTM / GRU: the unit whose state best tracks the count (#0 - #1 so far)
//    along START 0^n 1^n, its per-step change during the 0s and the 1s, and
//    the extremes of the gates that keep or leak the count.
//  tanh RNN: the fixed point of the 0-phase map h -> tanh(W_ih e_0 + b_ih +
//    W_hh h + b_hh) (layer 0) and the eigenvalues of its Jacobian there.
#include <cmath>
#include <complex>

#include "cli.hpp"

namespace cli {
namespace {

std::vector<float> param(anbn_model *m, const std::string &name, size_t n) {
  std::vector<float> v(n);
  check(anbn_param_get(m, name.c_str(), v.data(), n), name);
  return v;
}

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

json diagnose_gated(anbn_model *m, const anbn_model_info &info, int n) {
  // inputs START 0^n 1^n; count after input t: 0, 1..n, n-1..0
  std::vector<int32_t> seq(1, info.alphabet + 1);
  seq.insert(seq.end(), size_t(n), 0);
  seq.insert(seq.end(), size_t(n), 1);
  const size_t T = seq.size(), L = size_t(info.layers), H = size_t(info.hidden), GH = H * size_t(info.gates);
  std::vector<double> count(T);
  for (size_t t = 0; t < T; ++t) count[t] = t <= size_t(n) ? double(t) : double(2 * n) - double(t);
  std::vector<float> h(T * L * H), c(T * L * H), g(T * L * GH);
  const bool lstm = info.cell == ANBN_CELL_LSTM;
  anbn_probe_buffers b;
  anbn_probe_buffers_init(&b);
  b.hidden = h.data(), b.hidden_count = h.size();
  if (lstm) b.cell = c.data(), b.cell_count = c.size();
  b.gates = g.data(), b.gates_count = g.size();
  check(anbn_probe(m, seq.data(), T, &b), "probe");
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
  // gate rows: LSTM i, f, g, o; GRU r, z, n.  The gate that keeps the count:
  // the LSTM's forget gate f (and input i); the GRU's update gate z.
  const size_t keep = H + best_j, write = best_j;  // f (LSTM) or z (GRU); i (LSTM)
  auto min_over = [&](size_t row, size_t from, size_t to) {
    double v = INFINITY;
    for (size_t t = from; t <= to; ++t) v = std::min(v, at(g, t, GH, row));
    return v;
  };
  json out{{"cell", lstm ? "lstm" : "gru"},
           {"n", n},
           {"unit", {{"layer", best_l}, {"index", best_j}, {"state", lstm ? "cell" : "hidden"}, {"correlation", best_r}}},
           {"delta_zeros", stats(d0)},
           {"delta_ones", stats(d1)}};
  const char *keep_name = lstm ? "forget" : "update_z";
  out["min_" + std::string(keep_name)] = {{"zeros", min_over(keep, 1, size_t(n))}, {"ones", min_over(keep, size_t(n) + 1, T - 1)}};
  if (lstm)
    out["min_input"] = {{"zeros", min_over(write, 1, size_t(n))}, {"ones", min_over(write, size_t(n) + 1, T - 1)}};
  return out;
}

json diagnose_rnn(anbn_model *m, const anbn_model_info &info) {
  const size_t H = size_t(info.hidden), E = size_t(info.embed);
  const auto emb = param(m, "embedding.weight", size_t(info.vocab_size) * E);
  const auto wih = param(m, "rnn.weight_ih_l0", H * E), whh = param(m, "rnn.weight_hh_l0", H * H);
  const auto bih = param(m, "rnn.bias_ih_l0", H), bhh = param(m, "rnn.bias_hh_l0", H);
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
  } else {  // spectral radius by power iteration on J^T J's growth (|J^k v|^(1/k))
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

int cmd_diagnose(int argc, char **argv) {
  Args a("diagnose --model CKPT [--n 20] [--json]",
         "How the model counts.  LSTM/GRU: the unit that best tracks the count along START 0^n 1^n, its per-step\n"
         "change in the 0s and the 1s, and the lowest forget/input (GRU: update) gate values per phase.  tanh RNN:\n"
         "the fixed point of the 0-phase map and the eigenvalues of its Jacobian there.",
         {{"--model", "CKPT", "checkpoint", ""},
          {"--backend", "B", "compute backend", "auto"},
          {"--n", "N", "the n of the probe sequence", "20"},
          {"--json", "", "print the diagnosis as JSON", ""}});
  if (!a.parse(argc, argv)) return 0;
  if (a.str("--model").empty()) throw Failure{"diagnose needs --model CKPT", 2};
  ModelPtr m;
  load_model(a.str("--model"), a.str("--backend"), m);
  const anbn_model_info info = info_of(m.m);
  const int n = int(a.integer("--n"));
  if (n < 1 || n > 1000000) throw Failure{"--n must be in 1..1e6", 2};
  const json d = info.cell == ANBN_CELL_RNN_TANH ? diagnose_rnn(m.m, info) : diagnose_gated(m.m, info, n);
  if (a.flag("--json")) {
    std::printf("%s\n", d.dump(2).c_str());
    return 0;
  }
  if (info.cell == ANBN_CELL_RNN_TANH) {
    std::printf("0-phase fixed point h* = %s (%s after %d iterations)\n", d["fixed_point"].dump().c_str(),
                d["converged"].get<bool>() ? "converged" : "NOT converged", d["iterations"].get<int>());
    std::printf("Jacobian eigenvalues there: %s; spectral radius %.4f (%s)\n", d["eigenvalues"].dump().c_str(),
                d["spectral_radius"].get<double>(),
                d["spectral_radius"].get<double>() < 1 ? "contracting: the 0s are forgotten geometrically"
                                                       : "not contracting");
    return 0;
  }
  const auto &u = d["unit"];
  std::printf("counter: %s unit %d of layer %d (correlation with #0-#1 along n = %d: %.4f)\n",
              u["state"].get<std::string>().c_str(), u["index"].get<int>(), u["layer"].get<int>(), n,
              u["correlation"].get<double>());
  std::printf("per-step change: 0s %+.4f ± %.4f, 1s %+.4f ± %.4f\n", d["delta_zeros"]["mean"].get<double>(),
              d["delta_zeros"]["std"].get<double>(), d["delta_ones"]["mean"].get<double>(),
              d["delta_ones"]["std"].get<double>());
  for (const char *k : {"min_forget", "min_input", "min_update_z"})
    if (d.contains(k))
      std::printf("%-13s 0s %.6f, 1s %.6f\n", k, d[k]["zeros"].get<double>(), d[k]["ones"].get<double>());
  return 0;
}

}  // namespace cli
