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

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "cli.hpp"
#include "regime.hpp"

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

struct Interrupted {};  // Ctrl-C: the run in progress is dropped, finished ones are kept

struct SweepConfig {
  anbn_config model;
  std::string backend;
  int epochs, max_n;
  std::vector<int32_t> spot_n{10000, 30000};
  std::string spot_backend;  // "" = the training backend
  Regime regime;             // options one would try to make the network count exactly; all off by default
  std::string save_dir;      // "" = no checkpoints
};

struct Scan {
  int32_t capacity = 0;
  std::vector<int32_t> failures;  // first five failing n
  int accepted = 0;               // n in 1..max_n with every deterministic position right
  double margin = 1.0;            // smallest probability of a right deterministic symbol, n <= capacity
};

Scan scan_of(const anbn_capacity_result &r, const std::vector<anbn_capacity_row_v2> &rows) {
  Scan s;
  s.capacity = r.capacity;
  for (const auto &row : rows) {
    if (row.deterministic_errors == 0) s.accepted++;
    else if (s.failures.size() < 5) s.failures.push_back(row.n);
  }
  s.margin = capacity_margin(rows, r.capacity);
  return s;
}

Scan scan(anbn_model *m, int max_n) {
  std::vector<anbn_capacity_row_v2> rows(static_cast<size_t>(max_n));
  anbn_capacity_result r{};
  r.struct_size = sizeof r;
  check(anbn_capacity_v2(m, max_n, &r, rows.data(), rows.size()), "capacity");
  return scan_of(r, rows);
}

// One run through its epochs: what both engines share, so that they give the
// same JSON; they differ only in how an epoch is trained (this run's model
// alone, or as a member of a population).
struct Run {
  const SweepConfig &c;
  uint64_t seed;
  anbn_config cfg;
  Corpora corpus;
  ModelPtr own;            // the independent engine's model
  anbn_model *m = nullptr; // the model trained: own, or a population's member
  int best_epoch = -1, epochs_run = 0;
  std::pair<int, double> best_score{-1, 0.0};
  Params best_params;
  double seconds = 0;

  Run(const SweepConfig &config, uint64_t s, anbn_model *member) : c(config), seed(s), cfg(config.model) {
    cfg.backend = c.backend.c_str();
    cfg.seed = seed;
    check(anbn_corpus_seed(cfg.language, seed, &corpus.train, &corpus.valid), "seed corpus");
    if (!member) check(anbn_create(&cfg, &own.m), "creating the model");
    m = member ? member : own.m;
    if (!std::isnan(c.regime.forget_bias)) set_forget_bias(m, c.regime.forget_bias);
  }

  // Before epoch e: its learning rate; false once early stopping has ended the run.
  bool begin_epoch(int e) {
    const Regime &g = c.regime;
    if (g.schedule != "constant") {
      anbn_config t = cfg;
      t.lr = float(lr_at(g, cfg.lr, e, c.epochs));
      check(anbn_model_set_training(m, &t), "learning rate");
    }
    if (g.patience > 0 && best_epoch >= 0 && e - best_epoch > g.patience) return false;  // early stop
    ++epochs_run;
    return true;
  }

  // After epoch e; valid: its validation score when already computed (a
  // population's, as lanes).
  void end_epoch(int e, anbn_status rc, const anbn_epoch_stats &st, const std::pair<int, double> *valid = nullptr) {
    if (rc == ANBN_ERR_CANCELLED && g_interrupted) throw Interrupted{};
    check(rc, "training");
    seconds += st.seconds;
    const auto score = valid ? *valid : valid_score(m, c.regime.valid);
    if (score > best_score) best_score = score, best_epoch = e, best_params = snapshot(m);  // first best wins
  }

  // Whether the best epoch's parameters need a scan of their own (they are
  // not the final ones).
  bool best_needs_scan() const { return best_epoch != epochs_run - 1 && c.regime.patience <= 0; }

  // The run's JSON; the final and best scans are computed here unless given
  // (a population's, as lanes), with the model at its final parameters.
  json finish(const Scan *final_given = nullptr, const Scan *best_given = nullptr) {
    const Regime &g = c.regime;
    if (g.patience > 0) restore(m, best_params);  // early stopping ends on the best epoch's model
    const Scan final_scan = final_given ? *final_given : scan(m, c.max_n);
    const auto final_params = snapshot(m);
    const std::string stem = c.save_dir + "/seed-" + std::to_string(seed);
    if (!c.save_dir.empty()) save_checkpoint(m, stem + "-final.safetensors");
    restore(m, best_params);  // back to the best epoch (training is over)
    if (!c.save_dir.empty()) save_checkpoint(m, stem + "-best.safetensors");
    const Scan best = !best_needs_scan() ? final_scan : best_given ? *best_given : scan(m, c.max_n);
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
        restore(other.m, snapshot(m));
      }
      for (const auto &r : check_lengths(other.m ? other.m : m, c.spot_n))
        spots[std::to_string(r.n)] = {{"correct", r.deterministic_errors == 0}, {"margin", r.min_prob}};
      return spots;
    };
    const json best_spots = spot_checks(best);  // the model holds the best epoch's parameters now
    restore(m, final_params);  // back to the final model for its spot checks
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
};

// The independent engine: one run, its model alone.
json run_one(const SweepConfig &c, uint64_t seed) {
  Run r(c, seed, nullptr);
  for (int e = 0; e < c.epochs && r.begin_epoch(e); ++e) {
    anbn_epoch_stats st{};
    st.struct_size = sizeof st;
    const anbn_status rc = anbn_train_epoch(r.m, r.corpus.train, cancel_on_sigint, nullptr, &st);
    r.end_epoch(e, rc, st);
  }
  return r.finish();
}

// Capacity scans of the members with need[i] set, at their current
// parameters, as lanes; in slices of members so that the rows stay small.
std::vector<Scan> scan_population(anbn_population *pop, int max_n, const std::vector<int32_t> &need) {
  const size_t P = need.size(), slice = std::clamp<size_t>((size_t(1) << 22) / size_t(max_n), 1, P);
  std::vector<Scan> out(P);
  std::vector<anbn_capacity_result> res(P);
  std::vector<std::vector<anbn_capacity_row_v2>> rows(P);
  std::vector<anbn_capacity_row_v2 *> ptr(P, nullptr);
  for (size_t i0 = 0; i0 < P; i0 += slice) {
    const size_t i1 = std::min(P, i0 + slice);
    std::vector<int32_t> on(P, 0);
    for (size_t i = i0; i < i1; ++i) {
      if (!(on[i] = need[i])) continue;
      rows[i].resize(size_t(max_n)), ptr[i] = rows[i].data();
      res[i] = anbn_capacity_result{};
      res[i].struct_size = sizeof res[i];
    }
    check(anbn_population_capacity(pop, max_n, on.data(), res.data(), ptr.data()), "capacity");
    for (size_t i = i0; i < i1; ++i) {
      if (!need[i]) continue;
      out[i] = scan_of(res[i], rows[i]);
      rows[i] = {}, ptr[i] = nullptr;  // the slice's rows freed
    }
  }
  return out;
}

// The population engine: the seeds' runs as one population, trained together
// (on ref, one SIMD lane each), each run otherwise exactly as run_one's.
std::vector<json> run_population(const SweepConfig &c, const std::vector<uint64_t> &seeds) {
  anbn_config cfg = c.model;
  cfg.backend = c.backend.c_str();
  anbn_population *pop = nullptr;
  check(anbn_population_create(&cfg, seeds.data(), seeds.size(), &pop), "creating the population");
  std::unique_ptr<anbn_population, void (*)(anbn_population *)> hold(pop, anbn_population_destroy);
  std::vector<std::unique_ptr<Run>> runs;
  std::vector<const anbn_corpus *> corpora;
  for (size_t i = 0; i < seeds.size(); ++i) {
    anbn_model *member = nullptr;
    check(anbn_population_member(pop, i, &member), "population member");
    runs.push_back(std::make_unique<Run>(c, seeds[i], member));
    corpora.push_back(runs.back()->corpus.train);
  }
  std::vector<int32_t> active(seeds.size());
  std::vector<anbn_status> status(seeds.size());
  std::vector<anbn_epoch_stats> st(seeds.size());
  const std::vector<int32_t> valid_ns = valid_lengths(c.regime.valid);
  std::vector<anbn_capacity_row_v2> valid_rows(seeds.size() * valid_ns.size());
  std::vector<anbn_capacity_row_v2 *> valid_ptr(seeds.size());
  for (size_t i = 0; i < seeds.size(); ++i) valid_ptr[i] = valid_rows.data() + i * valid_ns.size();
  for (int e = 0; e < c.epochs; ++e) {
    if (g_interrupted) throw Interrupted{};
    bool any = false;
    for (size_t i = 0; i < runs.size(); ++i) any |= (active[i] = runs[i]->begin_epoch(e)) != 0;
    if (!any) break;
    for (auto &s : st) s = anbn_epoch_stats{}, s.struct_size = sizeof s;
    check(anbn_population_train_epoch(pop, corpora.data(), corpora.size(), active.data(), status.data(), st.data()),
          "training the population");
    // The validation range of every member that trained, as lanes.
    std::vector<int32_t> scored(seeds.size());
    for (size_t i = 0; i < runs.size(); ++i) scored[i] = active[i] && status[i] == ANBN_OK;
    check(anbn_population_capacity_at(pop, valid_ns.data(), valid_ns.size(), scored.data(), valid_ptr.data()),
          "validation");
    for (size_t i = 0; i < runs.size(); ++i)
      if (active[i]) {
        const auto score = valid_score(valid_ptr[i], valid_ns.size());
        runs[i]->end_epoch(e, status[i], st[i], &score);
      }
  }
  // The final scans of all, then the best epoch's of those whose best is
  // not their final, as lanes; each run then finishes from them.
  for (auto &r : runs)
    if (r->c.regime.patience > 0) restore(r->m, r->best_params);
  std::vector<Scan> finals = scan_population(pop, c.max_n, std::vector<int32_t>(runs.size(), 1));
  std::vector<int32_t> need(runs.size());
  std::vector<Params> final_params(runs.size());
  for (size_t i = 0; i < runs.size(); ++i)
    if ((need[i] = runs[i]->best_needs_scan())) final_params[i] = snapshot(runs[i]->m), restore(runs[i]->m, runs[i]->best_params);
  std::vector<Scan> bests = scan_population(pop, c.max_n, need);
  for (size_t i = 0; i < runs.size(); ++i)
    if (need[i]) restore(runs[i]->m, final_params[i]);
  std::vector<json> out;
  for (size_t i = 0; i < runs.size(); ++i) out.push_back(runs[i]->finish(&finals[i], need[i] ? &bests[i] : nullptr));
  return out;
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
  const char *sweep_help =
         "Train one configuration over many seeds (one run per thread) and report the distribution of capacity:\n"
         "per run the capacity at the final epoch and at the best epoch (chosen on --valid-range only: most n\n"
         "right there, then the largest margin on them), the first\n"
         "five failing n and how many n in 1..--max-n are accepted.  Finished runs go to --results, one JSON line\n"
         "each; a rerun skips the seeds already there.";
  std::vector<Option> opts = {{"--cell", cell_choices(), "recurrent cell", "lstm"},
          {"--seeds", "A-B[,C...]", "seeds (model init, shuffling and corpus)", "0-9"},
          {"--epochs", "N", "epochs per run", "20"},
          {"--lr", "X", "Adam learning rate", "1e-3"},
          {"--hidden", "H", "hidden width", "2"},
          {"--layers", "L", "stacked layers", "1"},
          {"--batch", "B", "sequences per Adam step", "1"},
          {"--backend", "B", "compute backend", "ref"},
          {"--language", "L", "anbn, anbnanbn or anbncn", "anbn"},
          {"--jobs", "N", "runs at once (threads)", std::to_string(std::max(1u, std::thread::hardware_concurrency()))},
          {"--engine", "E", "population (the seeds split over --jobs populations, each trained in lockstep) or "
                            "independent (one run per thread); the results are the same", "population where the backend has one"},
          {"--max-n", "N", "capacity is tested for n = 1..N", "1000"},
          {"--spot", "N[,N...]", "single n checked for runs that pass 1..--max-n", "10000,30000"},
          {"--spot-backend", "B", "run the spot checks on this backend (the trained parameters copied)", "--backend"},
          {"--results", "FILE", "append one JSON line per finished run; resume from it", ""},
          {"--save", "DIR", "write each run's checkpoints: DIR/seed-S-final.safetensors and DIR/seed-S-best.safetensors", ""},
          {"--json", "", "print {runs:[...], summary:{...}}", ""}};
  const auto regime = regime_options();
  opts.insert(opts.end() - 1, regime.begin(), regime.end());
  Args a("sweep --cell " + cell_choices() + " [options]", sweep_help, opts);
  if (!a.parse(argc, argv)) return 0;
  SweepConfig c;
  anbn_config_init(&c.model);
  c.model.cell = cell_arg(a);
  c.model.language = language_arg(a);
  c.model.hidden = int32_t(a.integer("--hidden", 1, 8192));
  c.model.layers = int32_t(a.integer("--layers", 1, 64));
  c.model.lr = float(a.real("--lr"));
  c.model.batch_size = int32_t(a.integer("--batch", 1, 1 << 20));
  c.regime = parse_regime(a, c.model.cell);
  c.model.clip_norm = c.regime.clip;
  c.backend = a.str("--backend");
  c.epochs = int(a.integer("--epochs"));
  c.max_n = int(a.integer("--max-n", 1, 1000000));
  c.spot_n = parse_lengths(a.str("--spot"), "--spot");
  c.spot_backend = a.has("--spot-backend") ? a.str("--spot-backend") : "";
  if (c.epochs < 1 || c.max_n < c.regime.valid.second)
    throw Failure{"need --epochs >= 1 and --max-n >= the end of --valid-range", 2};
  c.save_dir = a.str("--save");
  if (!c.save_dir.empty()) {
    if (mkdir(c.save_dir.c_str(), 0755) != 0 && errno != EEXIST)
      throw Failure{"--save: cannot create " + c.save_dir + ": " + std::strerror(errno), 1};
    check_writable(c.save_dir + "/x");
  }
  const auto seeds = parse_seeds(a.str("--seeds"));
  const int jobs = std::max(1, int(a.integer("--jobs", 0, 1024)));
  bool population = false;  // the default: where the backend trains populations in lockstep
  if (a.has("--engine")) {
    const std::string e = a.str("--engine");
    if (e != "population" && e != "independent") throw Failure{"--engine takes population or independent", 2};
    population = e == "population";
  } else {
    anbn_backend_info_v2 bi{};
    bi.struct_size = sizeof bi;
    population = anbn_backend_find_v2(c.backend.c_str(), &bi) == ANBN_OK && bi.population;
  }
  const json config{{"cell", a.str("--cell")}, {"language", a.str("--language")}, {"hidden", c.model.hidden},
                    {"layers", c.model.layers}, {"lr", double(c.model.lr)}, {"batch", c.model.batch_size},
                    {"epochs", c.epochs}, {"valid_range", a.str("--valid-range")}, {"max_n", c.max_n},
                    {"backend", c.backend},
                    {"forget_bias", std::isnan(c.regime.forget_bias) ? json(nullptr) : json(c.regime.forget_bias)},
                    {"lr_schedule", c.regime.schedule}, {"lr_final", c.regime.lr_final}, {"patience", c.regime.patience},
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
  auto finished = [&](const json &r) {
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
  };
  auto failed = [&](const std::string &what, const Failure &f) {
    std::lock_guard<std::mutex> lock(mu);
    if (first_error.empty()) first_error = what + ": " + f.message;
  };
  auto worker = [&] {
    for (size_t i; (i = next++) < todo.size();) {
      if (g_interrupted) break;
      try {
        finished(run_one(c, todo[i]));
      } catch (const Interrupted &) {
        break;
      } catch (const Failure &f) {
        failed("seed " + std::to_string(todo[i]), f);
      }
    }
  };
  const int threads = std::min<int>(jobs, int(todo.size()));
  auto chunk = [&](int j) {  // the population engine: thread j's contiguous share of the seeds
    const size_t lo = todo.size() * size_t(j) / size_t(threads), hi = todo.size() * size_t(j + 1) / size_t(threads);
    const std::vector<uint64_t> part(todo.begin() + long(lo), todo.begin() + long(hi));
    try {
      for (const json &r : run_population(c, part)) finished(r);
    } catch (const Interrupted &) {
    } catch (const Failure &f) {
      failed("seeds " + std::to_string(part.front()) + "-" + std::to_string(part.back()), f);
    }
  };
  SigintScope sigint;
  std::vector<std::thread> pool;
  for (int j = 0; j < threads; ++j) {
    if (population) pool.emplace_back(chunk, j);
    else pool.emplace_back(worker);
  }
  for (auto &t : pool) t.join();
  bar.finish();
  if (g_interrupted) {
    std::fprintf(stderr, "interrupted: %zu of %zu runs finished%s\n", runs.size(), seeds.size(),
                 results.empty() ? " (give --results FILE to keep finished runs across reruns)"
                                 : (" and are in " + results + "; run the same command again to resume").c_str());
    throw Failure{"interrupted", 130};
  }
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
