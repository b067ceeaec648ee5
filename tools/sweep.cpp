// anbn sweep: many training runs of one configuration over a list of seeds,
// one run per thread, and the capacity distribution they give.  The best
// epoch of a run is chosen on a validation range of n declared in advance
// (default 11..20), never on the test range.  Finished runs are appended to a
// results file, one JSON line each, so an interrupted sweep resumes.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>

#include "cli.hpp"

namespace cli {
namespace {

std::vector<uint64_t> parse_seeds(const std::string &spec) {
  std::vector<uint64_t> out;
  for (const std::string &part : split_commas(spec)) {
    char *end = nullptr;
    const unsigned long long a = std::strtoull(part.c_str(), &end, 10);
    if (end == part.c_str()) throw Failure{"--seeds: bad range '" + part + "' (e.g. 0-29 or 1,4,7)", 2};
    unsigned long long b = a;
    if (*end == '-') b = std::strtoull(end + 1, &end, 10);
    if (*end || b < a || b - a > 100000) throw Failure{"--seeds: bad range '" + part + "'", 2};
    for (unsigned long long s = a; s <= b; ++s) out.push_back(s);
  }
  if (out.empty()) throw Failure{"--seeds is empty", 2};
  return out;
}

std::pair<int, int> parse_range(const std::string &s) {
  int a = 0, b = 0;
  if (std::sscanf(s.c_str(), "%d-%d", &a, &b) != 2 || a < 1 || b < a) throw Failure{"bad n range '" + s + "' (e.g. 11-20)", 2};
  return {a, b};
}

struct SweepConfig {
  anbn_config model;
  std::string backend;
  int epochs, max_n;
  std::pair<int, int> valid;
  std::vector<int32_t> spot_n{10000, 30000};
  std::string spot_backend;  // "" = the training backend
  // Options one would try to make the network count exactly; all off by default.
  double forget_bias = std::nan("");  // LSTM: forget rows of bias_ih (bias_hh's set to 0)
  std::string schedule = "constant";  // constant | linear | cosine, from lr to lr_final
  double lr_final = 0;
  int patience = 0;                   // stop after this many epochs without a better valid score; keep the best
};

double lr_at(const SweepConfig &c, int epoch) {
  if (c.schedule == "constant" || c.epochs == 1) return c.model.lr;
  const double f = double(epoch) / double(c.epochs - 1), lr = c.model.lr;
  if (c.schedule == "linear") return lr + (c.lr_final - lr) * f;
  return c.lr_final + (lr - c.lr_final) * 0.5 * (1.0 + std::cos(3.141592653589793 * f));  // cosine
}

void set_forget_bias(anbn_model *m, double b) {
  anbn_model_info info = {};
  info.struct_size = sizeof info;
  check(anbn_model_get_info(m, &info), "model info");
  for (int l = 0; l < info.layers; ++l)
    for (const char *which : {"ih", "hh"}) {
      const std::string name = std::string("rnn.bias_") + which + "_l" + std::to_string(l);
      std::vector<float> v(size_t(4 * info.hidden));
      check(anbn_param_get(m, name.c_str(), v.data(), v.size()), "parameters");
      for (int j = 0; j < info.hidden; ++j) v[size_t(info.hidden + j)] = which[0] == 'i' ? float(b) : 0.f;  // rows i, f, g, o
      check(anbn_param_set(m, name.c_str(), v.data(), v.size()), "parameters");
    }
}

struct Scan {
  int32_t capacity = 0;
  std::vector<int32_t> failures;  // first five failing n
  int accepted = 0;               // n in 1..max_n with every deterministic position right
  double margin = 1.0;            // smallest probability of a right deterministic symbol, n <= capacity
};

Scan scan(anbn_model *m, int max_n) {
  std::vector<anbn_capacity_row_v2> rows(static_cast<size_t>(max_n));
  anbn_capacity_result r{};
  check(anbn_capacity_v2(m, max_n, &r, rows.data(), rows.size()), "capacity");
  Scan s;
  s.capacity = r.capacity;
  for (const auto &row : rows) {
    if (row.deterministic_errors == 0) s.accepted++;
    else if (s.failures.size() < 5) s.failures.push_back(row.n);
  }
  s.margin = capacity_margin(rows, r.capacity);
  return s;
}

// Single lengths: how many are right at every deterministic position, and
// the smallest probability given to a right deterministic symbol over them.
std::vector<anbn_capacity_row_v2> check_lengths(anbn_model *m, const std::vector<int32_t> &ns) {
  std::vector<anbn_capacity_row_v2> rows(ns.size());
  if (!ns.empty()) check(anbn_capacity_at(m, ns.data(), ns.size(), rows.data()), "spot checks");
  return rows;
}

// How well the model does on the validation range: how many n it gets fully
// right, then (to break ties once that saturates) the smallest probability it
// gives a correct deterministic symbol there.  Compared lexicographically.
std::pair<int, double> valid_score(anbn_model *m, const std::vector<int32_t> &valid_ns) {
  int ok = 0;
  double margin = 1.0;
  for (const auto &r : check_lengths(m, valid_ns)) {
    ok += r.deterministic_errors == 0;
    margin = std::min(margin, double(r.min_prob));
  }
  return {ok, margin};
}

// The model's tensors by name, to come back to the best epoch later.
std::vector<std::pair<std::string, std::vector<float>>> snapshot(anbn_model *m) {
  size_t count = 0;
  check(anbn_param_count(m, &count), "parameters");
  std::vector<std::pair<std::string, std::vector<float>>> out;
  for (size_t i = 0; i < count; ++i) {
    const char *name = nullptr;
    size_t numel = 0;
    check(anbn_param_info(m, i, &name, nullptr, nullptr, &numel), "parameters");
    out.emplace_back(name, std::vector<float>(numel));
    check(anbn_param_get(m, name, out.back().second.data(), numel), "parameters");
  }
  return out;
}

json run_one(const SweepConfig &c, uint64_t seed) {
  anbn_config cfg = c.model;
  cfg.backend = c.backend.c_str();
  cfg.seed = seed;
  Corpora corpus;
  check(anbn_corpus_seed(cfg.language, seed, &corpus.train, &corpus.valid), "seed corpus");
  ModelPtr m;
  check(anbn_create(&cfg, &m.m), "creating the model");
  if (!std::isnan(c.forget_bias)) set_forget_bias(m.m, c.forget_bias);
  int best_epoch = -1, epochs_run = 0;
  std::pair<int, double> best_score{-1, 0.0};
  anbn_model_info info = {};
  info.struct_size = sizeof info;
  check(anbn_model_get_info(m.m, &info), "model info");
  std::vector<std::pair<std::string, std::vector<float>>> best_params;
  std::vector<int32_t> valid_ns;
  for (int n = c.valid.first; n <= c.valid.second; ++n) valid_ns.push_back(n);
  double seconds = 0;
  for (int e = 0; e < c.epochs; ++e) {
    if (c.schedule != "constant") {
      anbn_config t = cfg;
      t.lr = float(lr_at(c, e));
      check(anbn_model_set_training(m.m, &t), "learning rate");
    }
    if (c.patience > 0 && best_epoch >= 0 && e - best_epoch > c.patience) break;  // early stop
    ++epochs_run;
    anbn_epoch_stats st{};
    st.struct_size = sizeof st;
    check(anbn_train_epoch(m.m, corpus.train, nullptr, nullptr, &st), "training");
    seconds += st.seconds;
    const auto score = valid_score(m.m, valid_ns);
    if (score > best_score) best_score = score, best_epoch = e, best_params = snapshot(m.m);  // first best wins
  }
  if (c.patience > 0)  // early stopping ends on the best epoch's model
    for (const auto &[name, values] : best_params)
      check(anbn_param_set(m.m, name.c_str(), values.data(), values.size()), "parameters");
  const Scan final_scan = scan(m.m, c.max_n);
  const auto final_params = snapshot(m.m);
  for (const auto &[name, values] : best_params)  // back to the best epoch (training is over)
    check(anbn_param_set(m.m, name.c_str(), values.data(), values.size()), "parameters");
  const Scan best = (best_epoch == epochs_run - 1 || c.patience > 0) ? final_scan : scan(m.m, c.max_n);
  // Spot checks far beyond the test range, only for a model that passed it.
  // Spot checks far beyond the test range, only for a model that passed it,
  // on --spot-backend when given (a float32 backend has PyTorch's rounding:
  // there a saturated gate is exactly 1, in ref's float64 it leaks).
  auto spot_checks = [&](const Scan &s) {
    json spots = json::object();
    if (s.capacity < c.max_n) return spots;
    ModelPtr other;
    if (!c.spot_backend.empty()) {
      anbn_config oc = cfg;
      oc.backend = c.spot_backend.c_str();
      check(anbn_create(&oc, &other.m), "creating the --spot-backend model");
      for (const auto &[name, values] : snapshot(m.m))
        check(anbn_param_set(other.m, name.c_str(), values.data(), values.size()), "parameters");
    }
    for (const auto &r : check_lengths(other.m ? other.m : m.m, c.spot_n))
      spots[std::to_string(r.n)] = {{"correct", r.deterministic_errors == 0}, {"margin", r.min_prob}};
    return spots;
  };
  const json best_spots = spot_checks(best);  // the model holds the best epoch's parameters now
  // Back to the final model for its spot checks.
  for (const auto &[name, values] : final_params)
    check(anbn_param_set(m.m, name.c_str(), values.data(), values.size()), "parameters");
  const json spots = spot_checks(final_scan);
  return json{{"seed", seed},
              {"capacity", final_scan.capacity},
              {"failures", final_scan.failures},
              {"accepted", final_scan.accepted},
              {"best_epoch", best_epoch},
              {"best_valid_score", best_score.first},
              {"best_valid_margin", best_score.second},
              {"best_capacity", best.capacity},
              {"best_spot_checks", best_spots},
              {"epochs_run", epochs_run},
              {"margin", final_scan.capacity > 0 ? json(final_scan.margin) : json(nullptr)},
              {"spot_checks", spots},
              {"train_seconds", seconds}};
}

double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * double(v.size() - 1);
  const size_t lo = size_t(std::floor(pos)), hi = size_t(std::ceil(pos));
  return v[lo] + (v[hi] - v[lo]) * (pos - double(lo));
}

// How many runs were right at each spot-check n ({"10000": k, ...}).
json spot_counts(const std::vector<json> &runs, const char *key, const std::vector<int32_t> &ns) {
  json out = json::object();
  for (int32_t n : ns) {
    int k = 0;
    for (const auto &r : runs) {
      const auto it = r[key].find(std::to_string(n));
      k += it != r[key].end() && (*it)["correct"].get<bool>();
    }
    out[std::to_string(n)] = k;
  }
  return out;
}

json summarize(const std::vector<json> &runs, const char *key) {
  std::vector<double> k;
  for (const auto &r : runs) k.push_back(r[key].get<double>());
  auto frac = [&](double t) {
    return double(std::count_if(k.begin(), k.end(), [&](double x) { return x >= t; })) / double(k.size());
  };
  return json{{"min", quantile(k, 0)},     {"q1", quantile(k, 0.25)}, {"median", quantile(k, 0.5)},
              {"q3", quantile(k, 0.75)},   {"max", quantile(k, 1)},   {"frac_ge_20", frac(20)},
              {"frac_ge_100", frac(100)},  {"frac_ge_1000", frac(1000)}};
}

}  // namespace

int cmd_sweep(int argc, char **argv) {
  Args a("sweep --cell rnn|lstm|gru [options]",
         "Train one configuration over many seeds (one run per thread) and report the distribution of capacity:\n"
         "per run the capacity at the final epoch and at the best epoch (chosen on --valid-range only: most n\n"
         "right there, then the largest margin on them), the first\n"
         "five failing n and how many n in 1..--max-n are accepted.  Finished runs go to --results, one JSON line\n"
         "each; a rerun skips the seeds already there.",
         {{"--cell", "rnn|lstm|gru", "recurrent cell", "lstm"},
          {"--seeds", "A-B[,C...]", "seeds (model init, shuffling and corpus)", "0-9"},
          {"--epochs", "N", "epochs per run", "20"},
          {"--lr", "X", "Adam learning rate", "1e-3"},
          {"--hidden", "H", "hidden width", "2"},
          {"--layers", "L", "stacked layers", "1"},
          {"--batch", "B", "sequences per Adam step", "1"},
          {"--backend", "B", "compute backend", "ref"},
          {"--language", "L", "anbn, anbnanbn or anbncn", "anbn"},
          {"--jobs", "N", "runs at once (threads)", std::to_string(std::max(1u, std::thread::hardware_concurrency()))},
          {"--valid-range", "A-B", "n range on which the best epoch is chosen", "11-20"},
          {"--max-n", "N", "capacity is tested for n = 1..N", "1000"},
          {"--spot", "N[,N...]", "single n checked for runs that pass 1..--max-n", "10000,30000"},
          {"--spot-backend", "B", "run the spot checks on this backend (the trained parameters copied)", "--backend"},
          {"--results", "FILE", "append one JSON line per finished run; resume from it", ""},
          {"--forget-bias", "B", "LSTM: start the forget gate's bias at B (bias_ih rows; bias_hh rows 0)", "off"},
          {"--lr-schedule", "S", "constant, linear or cosine, from --lr to --lr-final over the epochs", "constant"},
          {"--lr-final", "X", "the learning rate a schedule ends at", "0"},
          {"--clip", "X", "clip the gradient's global norm to X before each Adam step", "0 (off)"},
          {"--patience", "P", "early stopping: stop after P epochs without a better valid score, keep the best", "0 (off)"},
          {"--json", "", "print {runs:[...], summary:{...}}", ""}});
  if (!a.parse(argc, argv)) return 0;
  SweepConfig c;
  anbn_config_init(&c.model);
  c.model.cell = cell_arg(a);
  c.model.language = language_arg(a);
  c.model.hidden = int32_t(a.integer("--hidden", 1, 8192));
  c.model.layers = int32_t(a.integer("--layers", 1, 64));
  c.model.lr = float(a.real("--lr"));
  c.model.batch_size = int32_t(a.integer("--batch", 1, 1 << 20));
  c.model.clip_norm = a.has("--clip") ? float(a.real("--clip")) : 0.f;
  c.backend = a.str("--backend");
  c.epochs = int(a.integer("--epochs"));
  c.max_n = int(a.integer("--max-n", 1, 1000000));
  c.valid = parse_range(a.str("--valid-range"));
  c.spot_n = parse_lengths(a.str("--spot"), "--spot");
  c.spot_backend = a.has("--spot-backend") ? a.str("--spot-backend") : "";
  if (c.epochs < 1 || c.max_n < c.valid.second)
    throw Failure{"need --epochs >= 1 and --max-n >= the end of --valid-range", 2};
  if (a.has("--forget-bias")) {
    if (c.model.cell != ANBN_CELL_LSTM) throw Failure{"--forget-bias is for --cell lstm", 2};
    c.forget_bias = a.real("--forget-bias");
  }
  c.schedule = a.str("--lr-schedule");
  if (c.schedule != "constant" && c.schedule != "linear" && c.schedule != "cosine")
    throw Failure{"--lr-schedule takes constant, linear or cosine", 2};
  c.lr_final = a.has("--lr-final") ? a.real("--lr-final") : 0.0;
  c.patience = a.has("--patience") ? int(a.integer("--patience")) : 0;
  const auto seeds = parse_seeds(a.str("--seeds"));
  const int jobs = std::max(1, int(a.integer("--jobs", 0, 1024)));
  const json config{{"cell", a.str("--cell")}, {"language", a.str("--language")}, {"hidden", c.model.hidden},
                    {"layers", c.model.layers}, {"lr", double(c.model.lr)}, {"batch", c.model.batch_size},
                    {"epochs", c.epochs}, {"valid_range", a.str("--valid-range")}, {"max_n", c.max_n},
                    {"backend", c.backend}, {"forget_bias", std::isnan(c.forget_bias) ? json(nullptr) : json(c.forget_bias)},
                    {"lr_schedule", c.schedule}, {"lr_final", c.lr_final}, {"patience", c.patience},
                    {"clip", double(c.model.clip_norm)}, {"spot", c.spot_n},
                    {"spot_backend", c.spot_backend.empty() ? c.backend : c.spot_backend}};

  // Resume: runs of this configuration already in the results file.
  std::vector<json> runs;
  std::set<uint64_t> done;
  const std::string results = a.str("--results");
  if (!results.empty()) {
    std::ifstream in(results);
    std::string line;
    for (size_t lineno = 1; std::getline(in, line); ++lineno) {
      if (line.empty()) continue;
      json j = json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.contains("config") || !j.contains("run"))
        throw Failure{results + ":" + std::to_string(lineno) + ": not a sweep result line", 1};
      if (j["config"] != config) throw Failure{results + " holds runs of another configuration: " + j["config"].dump(), 1};
      const uint64_t s = j["run"]["seed"].get<uint64_t>();
      if (std::find(seeds.begin(), seeds.end(), s) != seeds.end() && done.insert(s).second) runs.push_back(j["run"]);
    }
  }
  std::vector<uint64_t> todo;
  for (uint64_t s : seeds)
    if (!done.count(s)) todo.push_back(s);

  std::mutex mu;
  std::atomic<size_t> next{0};
  std::string first_error;
  ProgressBar bar;
  const bool js = a.flag("--json");
  const auto t0 = std::chrono::steady_clock::now();
  auto worker = [&] {
    for (size_t i; (i = next++) < todo.size();) {
      json r;
      try {
        r = run_one(c, todo[i]);
      } catch (const Failure &f) {
        std::lock_guard<std::mutex> lock(mu);
        if (first_error.empty()) first_error = "seed " + std::to_string(todo[i]) + ": " + f.message;
        continue;
      }
      std::lock_guard<std::mutex> lock(mu);
      runs.push_back(r);
      if (!results.empty()) {
        std::ofstream out(results, std::ios::app);
        out << json{{"config", config}, {"run", r}}.dump() << "\n";
      }
      bar.finish();
      if (!js)
        std::printf("seed %llu: capacity %d (best %d at epoch %d), accepted %d of %d, first failures %s\n",
                    (unsigned long long)r["seed"].get<uint64_t>(), r["capacity"].get<int>(), r["best_capacity"].get<int>(),
                    r["best_epoch"].get<int>(), r["accepted"].get<int>(), c.max_n, r["failures"].dump().c_str());
      std::fflush(stdout);
      bar.update("sweep", runs.size() - done.size(), todo.size(), 0.0);
    }
  };
  std::vector<std::thread> pool;
  for (int j = 0; j < std::min<int>(jobs, int(todo.size())); ++j) pool.emplace_back(worker);
  for (auto &t : pool) t.join();
  bar.finish();
  if (!first_error.empty()) throw Failure{first_error, 1};
  std::sort(runs.begin(), runs.end(), [](const json &x, const json &y) { return x["seed"] < y["seed"]; });
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const json summary = summarize(runs, "capacity"), best = summarize(runs, "best_capacity");
  const json spot_right{{"final", spot_counts(runs, "spot_checks", c.spot_n)},
                        {"best", spot_counts(runs, "best_spot_checks", c.spot_n)}};
  if (js) {
    std::printf("%s\n", json{{"config", config}, {"runs", runs}, {"summary", summary}, {"summary_best", best},
                             {"spot_right", spot_right},
                             {"wall_seconds", wall}, {"resumed", done.size()}}
                            .dump(2)
                            .c_str());
    return 0;
  }
  std::printf("\n%zu runs (%zu resumed) in %.1f s on %s, %d at a time\n", runs.size(), done.size(), wall,
              c.backend.c_str(), jobs);
  std::printf("%-14s %6s %6s %7s %6s %6s %7s %8s %9s  right at (on %s)\n", "", "min", "q1", "median", "q3", "max",
              "K>=20", "K>=100", "K>=1000", config["spot_backend"].get<std::string>().c_str());
  for (const auto &[label, s, spots] : {std::tuple<const char *, const json &, const json &>{"final epoch", summary, spot_right["final"]},
                                        {"best epoch", best, spot_right["best"]}}) {
    std::printf("%-14s %6.0f %6.1f %7.1f %6.1f %6.0f %7.2f %8.2f %9.2f ", label, s["min"].get<double>(),
                s["q1"].get<double>(), s["median"].get<double>(), s["q3"].get<double>(), s["max"].get<double>(),
                s["frac_ge_20"].get<double>(), s["frac_ge_100"].get<double>(), s["frac_ge_1000"].get<double>());
    for (const auto &[n, k] : spots.items()) std::printf(" n=%s: %d/%zu", n.c_str(), k.get<int>(), runs.size());
    std::printf("\n");
  }
  return 0;
}

}  // namespace cli
