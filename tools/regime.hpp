// The training regime both `anbn train` and `anbn sweep` accept: forget-gate
// bias, learning-rate schedule, clipping, and early stopping on a validation
// range of n declared in advance.  One definition, one set of options.
#pragma once
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "cli.hpp"

namespace cli {

struct Regime {
  double forget_bias = std::nan("");  // LSTM: forget rows of bias_ih (bias_hh's set to 0); NaN = off
  std::string schedule = "constant";  // constant | linear | cosine, from lr to lr_final over the epochs
  double lr_final = 0;
  float clip = 0;                     // gradient norm clip (0 = off)
  int patience = 0;                   // stop after this many epochs without a better valid score; keep the best
  std::pair<int, int> valid{11, 20};  // the validation range of n the best epoch is chosen on
};

// The options, with the defaults shown in --help.
std::vector<Option> regime_options();
// Reads them (usage errors for bad values); cell checks --forget-bias.
Regime parse_regime(const Args &a, anbn_cell cell);
std::pair<int, int> parse_range(const std::string &s);

// The learning rate of epoch `epoch` of `epochs`.
double lr_at(const Regime &r, double lr, int epoch, int epochs);
void set_forget_bias(anbn_model *m, double b);

// Single lengths' capacity rows (spot checks, the validation range).
std::vector<anbn_capacity_row_v2> check_lengths(anbn_model *m, const std::vector<int32_t> &ns);
// On the validation range: n fully right, then the smallest probability of a
// right deterministic symbol there.  Compared lexicographically.
std::pair<int, double> valid_score(anbn_model *m, std::pair<int, int> range);
// The same from the range's rows (valid_lengths' order), already computed.
std::vector<int32_t> valid_lengths(std::pair<int, int> range);
std::pair<int, double> valid_score(const anbn_capacity_row_v2 *rows, size_t count);

// A model's tensors by name, to come back to the best epoch later.
using Params = std::vector<std::pair<std::string, std::vector<float>>>;
Params snapshot(anbn_model *m);
void restore(anbn_model *m, const Params &p);

}  // namespace cli
