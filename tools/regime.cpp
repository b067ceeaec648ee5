#include "regime.hpp"

#include <cstdio>

#include "../backends/common/cell.hpp"

namespace cli {

std::vector<Option> regime_options() {
  return {{"--forget-bias", "B", "lstm, peephole: start the forget gate's bias at B (bias_ih rows; bias_hh rows 0)", "off"},
          {"--lr-schedule", "S", "constant, linear or cosine, from --lr to --lr-final over the epochs", "constant"},
          {"--lr-final", "X", "the learning rate a schedule ends at", "0"},
          {"--clip", "X", "clip the gradient's global norm to X before each Adam step", "0 (off)"},
          {"--patience", "P", "early stopping: stop after P epochs without a better score on --valid-range, keep the best",
           "0 (off)"},
          {"--valid-range", "A-B", "n range on which the best epoch is chosen (declared in advance, never the test range)",
           "11-20"}};
}

std::pair<int, int> parse_range(const std::string &s) {
  int a = 0, b = 0;
  char tail = 0;
  if (std::sscanf(s.c_str(), "%d-%d%c", &a, &b, &tail) != 2 || a < 1 || b < a || b > 1000000)
    throw Failure{"bad n range '" + s + "' (e.g. 11-20)", 2};
  return {a, b};
}

Regime parse_regime(const Args &a, anbn_cell cell) {
  Regime r;
  if (a.has("--forget-bias")) {
    const anbn_cells::Def *d = anbn_cells::find(cell);
    if (!d || d->forget < 0) throw Failure{"--forget-bias is for a cell with a forget gate (lstm, peephole)", 2};
    r.forget_bias = a.real("--forget-bias");
  }
  r.schedule = a.str("--lr-schedule");
  if (r.schedule != "constant" && r.schedule != "linear" && r.schedule != "cosine")
    throw Failure{"--lr-schedule takes constant, linear or cosine", 2};
  r.lr_final = a.has("--lr-final") ? a.real("--lr-final") : 0.0;
  r.clip = a.has("--clip") ? float(a.real("--clip")) : 0.f;
  r.patience = a.has("--patience") ? int(a.integer("--patience", 0, 1000000)) : 0;
  r.valid = parse_range(a.str("--valid-range"));
  return r;
}

double lr_at(const Regime &r, double lr, int epoch, int epochs) {
  if (r.schedule == "constant" || epochs == 1) return lr;
  const double f = double(epoch) / double(epochs - 1);
  if (r.schedule == "linear") return lr + (r.lr_final - lr) * f;
  return r.lr_final + (lr - r.lr_final) * 0.5 * (1.0 + std::cos(3.141592653589793 * f));  // cosine
}

void set_forget_bias(anbn_model *m, double b) {
  const anbn_model_info info = info_of(m);
  const anbn_cells::Def &d = *anbn_cells::find(info.cell);  // parse_regime checked it has a forget gate
  for (int l = 0; l < info.layers; ++l)
    for (const char *which : {"ih", "hh"}) {
      const std::string name = std::string(d.module) + ".bias_" + which + "_l" + std::to_string(l);
      std::vector<float> v(size_t(d.gates) * size_t(info.hidden));
      check(anbn_param_get(m, name.c_str(), v.data(), v.size()), "parameters");
      for (int j = 0; j < info.hidden; ++j) v[size_t(d.forget * info.hidden + j)] = which[0] == 'i' ? float(b) : 0.f;
      check(anbn_param_set(m, name.c_str(), v.data(), v.size()), "parameters");
    }
}

std::vector<anbn_capacity_row_v2> check_lengths(anbn_model *m, const std::vector<int32_t> &ns) {
  std::vector<anbn_capacity_row_v2> rows(ns.size());
  if (!ns.empty()) check(anbn_capacity_at(m, ns.data(), ns.size(), rows.data()), "spot checks");
  return rows;
}

std::vector<int32_t> valid_lengths(std::pair<int, int> range) {
  std::vector<int32_t> ns;
  for (int n = range.first; n <= range.second; ++n) ns.push_back(n);
  return ns;
}

std::pair<int, double> valid_score(const anbn_capacity_row_v2 *rows, size_t count) {
  int ok = 0;
  double margin = 1.0;
  for (size_t i = 0; i < count; ++i) {
    ok += rows[i].deterministic_errors == 0;
    margin = std::min(margin, double(rows[i].min_prob));
  }
  return {ok, margin};
}

std::pair<int, double> valid_score(anbn_model *m, std::pair<int, int> range) {
  const auto rows = check_lengths(m, valid_lengths(range));
  return valid_score(rows.data(), rows.size());
}

Params snapshot(anbn_model *m) {
  size_t count = 0;
  check(anbn_param_count(m, &count), "parameters");
  Params out;
  for (size_t i = 0; i < count; ++i) {
    const char *name = nullptr;
    size_t numel = 0;
    check(anbn_param_info(m, i, &name, nullptr, nullptr, &numel), "parameters");
    out.emplace_back(name, std::vector<float>(numel));
    check(anbn_param_get(m, name, out.back().second.data(), numel), "parameters");
  }
  return out;
}

void restore(anbn_model *m, const Params &p) {
  for (const auto &[name, values] : p) check(anbn_param_set(m, name.c_str(), values.data(), values.size()), "parameters");
}

}  // namespace cli
