// The anbn command-line program: the seed experiment and every step of it.
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cerrno>

#include <chrono>
#include <cmath>
#include <cstring>

#include "cli.hpp"
#include "regime.hpp"

using namespace cli;

namespace cli {
int cmd_sweep(int argc, char **argv);     // sweep.cpp
int cmd_diagnose(int argc, char **argv);  // diagnose.cpp
}

namespace {

// ------------------------------------------------------------ training loop

struct EpochRecord {
  int64_t epoch;
  double train_loss, valid_loss;
  anbn_eval_stats eval;
  double seconds;
};

struct TrainCtx {
  ProgressBar bar;
  bool lines;
  const char *label;
  int epoch_index = 0, epochs = 1;  // for "epoch k/N" and the ETA
};

int on_progress(void *user, const anbn_progress *p) {
  auto *t = static_cast<TrainCtx *>(user);
  if (g_interrupted) return 1;
  // Every callback (500 sequences, as the seed printed) updates the live
  // line on a terminal; on a pipe the bar itself thins the lines out.
  char detail[128];
  std::snprintf(detail, sizeof detail, "epoch %d/%d  %zu/%zu sequences  loss %.3f", t->epoch_index + 1, t->epochs,
                p->done, p->total, p->mean_loss);
  const double fraction = (double(t->epoch_index) + double(p->done) / double(p->total ? p->total : 1)) / t->epochs;
  t->bar.update(t->label, fraction, detail);
  return 0;
}

json epoch_json(const EpochRecord &r) {
  return json{{"epoch", r.epoch},
              {"train_loss", r.train_loss},
              {"valid_loss", r.valid_loss},
              {"errors", r.eval.errors},
              {"positions", r.eval.positions},
              {"deterministic_errors", r.eval.deterministic_errors},
              {"errors_per_sequence", double(r.eval.errors) / double(r.eval.sequences ? r.eval.sequences : 1)},
              {"seconds", r.seconds}};
}

// Where and how often training checkpoints (empty path: never).
struct SavePlan {
  std::string path;
  int every = 0;  // also after every `every` epochs
};

std::vector<EpochRecord> run_training(anbn_model *m, const anbn_corpus *train, const anbn_corpus *valid, int epochs,
                                      bool lines, const char *label, const SavePlan &save = {},
                                      const Regime &regime = {}) {
  std::vector<EpochRecord> out;
  TrainCtx ctx{ProgressBar(), lines, label, 0, epochs > 0 ? epochs : 1};
  const anbn_model_info info = info_of(m);
  const auto valid_seqs = valid ? corpus_sequences(valid) : std::vector<std::vector<int32_t>>{};
  uint64_t pick = 0x9e3779b97f4a7c15ull;
  anbn_config cfg{};
  cfg.struct_size = sizeof cfg;  // an output: its size set, or the library may write less of it
  check(anbn_model_get_config(m, &cfg), "config");
  const float lr0 = cfg.lr;
  int best_epoch = -1;
  std::pair<int, double> best_score{-1, 0.0};
  Params best_params;
  for (int e = 0; e < epochs; ++e) {
    if (regime.patience > 0 && best_epoch >= 0 && e - best_epoch > regime.patience) {
      std::fprintf(stderr, "early stopping: no better score on n = %d..%d for %d epochs\n", regime.valid.first,
                   regime.valid.second, regime.patience);
      break;
    }
    if (regime.schedule != "constant") {
      cfg.lr = float(lr_at(regime, lr0, e, epochs));
      check(anbn_model_set_training(m, &cfg), "learning rate");
    }
    anbn_epoch_stats st{};
    st.struct_size = sizeof st;
    ctx.epoch_index = e;
    const anbn_status rc = g_interrupted ? ANBN_ERR_CANCELLED : anbn_train_epoch(m, train, on_progress, &ctx, &st);
    ctx.bar.finish();
    if (rc == ANBN_ERR_CANCELLED && g_interrupted) {
      const anbn_model_info info = info_of(m);
      std::fprintf(stderr, "interrupted: keeping the last finished epoch (%lld epochs trained)\n", (long long)info.epoch);
      if (!save.path.empty()) save_checkpoint(m, save.path);
      throw Failure{"interrupted", 130};
    }
    check(rc, "training");
    EpochRecord r{st.epoch, st.mean_loss, 0.0, {}, st.seconds};
    if (valid) {
      r.eval.struct_size = sizeof r.eval;
      check(anbn_evaluate(m, valid, &r.eval), "evaluation");
      r.valid_loss = r.eval.mean_loss;
    }
    out.push_back(r);
    if (regime.patience > 0) {  // the best epoch on the declared validation range, first best wins
      const auto score = valid_score(m, regime.valid);
      if (score > best_score) best_score = score, best_epoch = int(r.epoch), best_params = snapshot(m);
    }
    if (!save.path.empty() && save.every > 0 && (e + 1) % save.every == 0 && e + 1 < epochs) save_checkpoint(m, save.path);
    if (lines) {
      std::printf("epoch %lld, train loss: %.2f, valid loss: %.2f, errors/seq: %.2f, error rate: %.3f\n",
                  (long long)r.epoch, r.train_loss, r.valid_loss,
                  double(r.eval.errors) / double(r.eval.sequences ? r.eval.sequences : 1),
                  double(r.eval.errors) / double(r.eval.positions ? r.eval.positions : 1));
      if (!valid_seqs.empty()) {  // the seed shows one validation string: output over target
        pick = pick * 6364136223846793005ull + 1442695040888963407ull;
        const auto &s = valid_seqs[(pick >> 33) % valid_seqs.size()];
        std::vector<float> lp((s.size() - 1) * size_t(info.output_size));
        anbn_probe_buffers b;
        anbn_probe_buffers_init(&b);
        b.log_probs = lp.data(), b.log_probs_count = lp.size();
        check(anbn_probe(m, s.data(), s.size() - 1, &b), "probe");
        std::string o, t;
        for (size_t i = 0; i + 1 < s.size(); ++i) {
          const float *row = &lp[i * size_t(info.output_size)];
          int best = 0;
          for (int k = 1; k < info.output_size; ++k)
            if (row[k] > row[best]) best = k;
          o += std::to_string(best), t += std::to_string(s[i + 1]);
        }
        std::printf("%s\n%s\n", o.c_str(), t.c_str());
      }
      std::fflush(stdout);
    }
  }
  if (regime.patience > 0 && !best_params.empty()) {
    restore(m, best_params);
    std::fprintf(stderr, "keeping the best epoch on n = %d..%d: epoch %d (%d of %d right, margin %.4f)\n",
                 regime.valid.first, regime.valid.second, best_epoch, best_score.first,
                 regime.valid.second - regime.valid.first + 1, best_score.second);
  }
  return out;
}

void print_epoch_table(const std::vector<EpochRecord> &rs) {
  std::printf("%6s %11s %11s %11s %11s %9s\n", "epoch", "train loss", "valid loss", "errors/seq", "error rate", "seconds");
  for (const auto &r : rs)
    std::printf("%6lld %11.4f %11.4f %11.3f %11.4f %9.4f\n", (long long)r.epoch, r.train_loss, r.valid_loss,
                double(r.eval.errors) / double(r.eval.sequences ? r.eval.sequences : 1),
                double(r.eval.errors) / double(r.eval.positions ? r.eval.positions : 1), r.seconds);
}

void print_probe_table(anbn_model *m, anbn_language lang, int max_n, json *rows) {
  if (!rows) std::printf("%4s  %-42s %-42s %5s\n", "n", "output", "target", "Diff");
  for (int n = 0; n < max_n; ++n) {
    const ProbeRow r = probe_row(m, lang, n);
    if (rows)
      rows->push_back({{"n", n}, {"output", r.output}, {"target", r.target}, {"diff", r.diff},
                       {"deterministic_errors", r.det_errors}});
    else
      std::printf("%4d  %-42s %-42s %5d\n", n, r.output.c_str(), r.target.c_str(), r.diff);
  }
}

json capacity_row_json(const anbn_capacity_row_v2 &r) {
  return {{"n", r.n}, {"errors", r.errors}, {"deterministic_errors", r.deterministic_errors},
          {"positions", r.positions}, {"min_prob", r.min_prob}};
}

// The scan of n = 1..max_n, its margin (the smallest probability given to a
// right deterministic symbol over n = 1..capacity; null if capacity is 0) and
// spot checks at the lengths in `at`.
json capacity_json(anbn_model *m, int max_n, const std::vector<int32_t> &at, anbn_capacity_result *res) {
  std::vector<anbn_capacity_row_v2> rows(static_cast<size_t>(max_n)), spots(at.size());
  res->struct_size = sizeof *res;
  check(anbn_capacity_v2(m, max_n, res, rows.data(), rows.size()), "capacity");
  if (!at.empty()) check(anbn_capacity_at(m, at.data(), at.size(), spots.data()), "spot checks");
  json per_n = json::array(), spot = json::array();
  for (const auto &r : rows) per_n.push_back(capacity_row_json(r));
  const double margin = capacity_margin(rows, res->capacity);
  for (const auto &r : spots) spot.push_back(capacity_row_json(r));
  return json{{"capacity", res->capacity}, {"first_failure", res->first_failure}, {"max_n", res->max_n},
              {"margin", res->capacity > 0 ? json(margin) : json(nullptr)}, {"per_n", per_n}, {"spot_checks", spot}};
}

json generate_json(anbn_model *m, size_t count, double temperature, uint64_t seed, size_t *valid_out) {
  anbn_generate_config g;
  anbn_generate_config_init(&g);
  g.count = count, g.temperature = float(temperature), g.seed = seed;
  anbn_corpus *c = nullptr;
  check(anbn_generate(m, &g, &c, valid_out), "generate");
  json samples = json::array();
  for (const auto &s : corpus_sequences(c)) samples.push_back(s);
  anbn_corpus_destroy(c);
  return samples;
}

// A sample as the seed writes strings: the symbols after START ("0011" + END).
std::string body_string(const json &sample) {
  std::string out;
  for (size_t k = 1; k < sample.size(); ++k) out += std::to_string(sample[k].get<int>());
  return out;
}

// Peak resident memory of this process (VmHWM; unlike getrusage's maxrss it
// does not inherit the parent's high-water mark across exec).  0 if unknown.
double peak_rss_mib() {
  FILE *f = std::fopen("/proc/self/status", "r");
  if (!f) return 0.0;
  char line[256];
  double kib = 0.0;
  while (std::fgets(line, sizeof line, f))
    if (std::sscanf(line, "VmHWM: %lf kB", &kib) == 1) break;
  std::fclose(f);
  return kib / 1024.0;
}

// ------------------------------------------------------------ subcommands

const std::vector<Option> kBackendOpt = {{"--backend", "B", "compute backend (see anbn backends)", "auto"}};

int cmd_backends(int argc, char **argv) {
  Args a("backends [--json]", "List the compute backends, whether each can be used here, and why not.",
         {{"--json", "", "print {\"backends\":[{name,available,reason}...]}", ""}});
  if (!a.parse(argc, argv)) return 0;
  size_t n = 0;
  check(anbn_backend_count(&n), "backends");
  json list = json::array();
  if (!a.flag("--json")) std::printf("%-12s %-10s %s\n", "backend", "available", "reason / library");
  for (size_t i = 0; i < n; ++i) {
    anbn_backend_info b;
    check(anbn_backend_get(i, &b), "backends");
    list.push_back({{"name", b.name}, {"available", bool(b.available)}, {"reason", b.reason}, {"path", b.path}});
    if (!a.flag("--json"))
      std::printf("%-12s %-10s %s\n", b.name, b.available ? "yes" : "no",
                  b.available ? (b.path[0] ? b.path : "built in") : b.reason);
  }
  const char *rule = "auto picks onednn when gates*H*sqrt(batch) >= 64 and onednn is available, else ref "
                     "(tanh RNN from H = 64, LSTM from H = 16 at batch 1; measured in bench/auto_rule.md)";
  if (a.flag("--json")) std::printf("%s\n", json{{"backends", list}, {"auto", rule}}.dump(2).c_str());
  else std::printf("\n%s\n", rule);
  return 0;
}

std::vector<Option> train_options() {
  std::vector<Option> o = {{"--cell", cell_choices(), "recurrent cell", "rnn"},
          {"--backend", "B", "compute backend", "auto"},
          {"--hidden", "H", "hidden width", "2"},
          {"--layers", "L", "stacked layers", "1"},
          {"--epochs", "N", "epochs to train (0 with --save writes the initial model)", "20"},
          {"--lr", "X", "Adam learning rate", "1e-3"},
          {"--batch", "B", "sequences per Adam step (>1: buckets of one length)", "1"},
          {"--seed", "S", "seed of the initial weights and the shuffling", "1"},
          {"--data-seed", "S", "seed of the seed corpus", "same as --seed"},
          {"--language", "L", "anbn, anbnanbn or anbncn", "anbn"},
          {"--corpus", "FILE", "training corpus file (one sequence per line) instead of the seed corpus", ""},
          {"--valid", "FILE", "validation corpus file instead of the seed validation set", ""},
          {"--shuffle", "on|off", "shuffle the training set every epoch", "on"},
          {"--threads", "N", "threads the backend may use", "1"},
          {"--init", "CKPT", "start from a checkpoint (its architecture wins over the flags)", ""},
          {"--save", "CKPT", "write a checkpoint at the end (and on Ctrl-C: the last finished epoch)", ""},
          {"--save-every", "N", "also write --save after every N epochs (0: only at the end)", "0"},
          {"--json", "", "print {\"epochs\":[{epoch,train_loss,valid_loss,errors,positions,seconds}...]}", ""}};
  const auto regime = regime_options();  // the same training options as anbn sweep
  o.insert(o.end() - 1, regime.begin(), regime.end());
  return o;
}

void make_corpora(const Args &a, anbn_language lang, uint64_t seed, Corpora &c) {
  check(anbn_corpus_seed(lang, seed, &c.train, &c.valid), "seed corpus");
  const int32_t k = anbn_language_alphabet(lang);
  if (!a.str("--corpus").empty()) {
    anbn_corpus_destroy(c.train);
    c.train = nullptr;
    check(anbn_corpus_load(a.str("--corpus").c_str(), k, &c.train), "--corpus");
  }
  if (!a.str("--valid").empty()) {
    anbn_corpus_destroy(c.valid);
    c.valid = nullptr;
    check(anbn_corpus_load(a.str("--valid").c_str(), k, &c.valid), "--valid");
  }
}

int cmd_train(int argc, char **argv) {
  Args a("train --cell " + cell_choices() + " [options]",
         "Train a model on the seed corpus (or a corpus file), evaluating on the validation set after every epoch.",
         train_options());
  if (!a.parse(argc, argv)) return 0;
  const bool js = a.flag("--json");
  ModelPtr m;
  anbn_config cfg;
  anbn_config_init(&cfg);
  const std::string backend = a.str("--backend");
  if (!a.str("--init").empty()) {
    load_model(a.str("--init"), backend, m);
    check(anbn_model_get_config(m.m, &cfg), "config");
  } else {
    cfg.backend = backend.c_str();
    cfg.cell = cell_arg(a);
    cfg.language = language_arg(a);
    cfg.hidden = int32_t(a.integer("--hidden", 1, 8192));
    cfg.layers = int32_t(a.integer("--layers", 1, 64));
    cfg.seed = a.seed("--seed");
    cfg.threads = int32_t(a.integer("--threads", 0, 1024));
  }
  if (!a.str("--init").empty() && a.has("--lr")) cfg.lr = float(a.real("--lr"));
  if (a.str("--init").empty()) cfg.lr = float(a.real("--lr"));
  if (a.has("--batch") || a.str("--init").empty()) cfg.batch_size = int32_t(a.integer("--batch", 1, 1 << 20));
  const Regime regime = parse_regime(a, cfg.cell);
  if (a.has("--clip") || a.str("--init").empty()) cfg.clip_norm = regime.clip;
  if (a.has("--forget-bias") && !a.str("--init").empty()) throw Failure{"--forget-bias sets up a new model; not with --init", 2};
  const std::string sh = a.str("--shuffle");
  if (sh != "on" && sh != "off") throw Failure{"--shuffle takes on or off, got '" + sh + "'", 2};
  if (a.has("--shuffle") || a.str("--init").empty()) cfg.shuffle = sh == "on";
  if (!m.m) {
    check(anbn_create(&cfg, &m.m), "creating the model");
    if (!std::isnan(regime.forget_bias)) set_forget_bias(m.m, regime.forget_bias);
  } else {
    check(anbn_model_set_training(m.m, &cfg), "training settings");
  }
  const uint64_t data_seed = a.has("--data-seed") ? a.seed("--data-seed") : cfg.seed;
  Corpora c;
  make_corpora(a, cfg.language, data_seed, c);
  const int epochs = int(a.integer("--epochs", 0, 1000000));
  const SavePlan save{a.str("--save"), int(a.integer("--save-every", 0, 1000000))};
  if (save.every > 0 && save.path.empty()) throw Failure{"--save-every needs --save CKPT", 2};
  check_writable(save.path);
  SigintScope sigint;
  const auto recs = run_training(m.m, c.train, c.valid, epochs, !js, "train", save, regime);
  if (!save.path.empty()) save_checkpoint(m.m, save.path);
  if (js) {
    json eps = json::array();
    for (const auto &r : recs) eps.push_back(epoch_json(r));
    std::printf("%s\n", json{{"backend", info_of(m.m).backend}, {"backend_reason", info_of(m.m).backend_reason}, {"epochs", eps}, {"peak_rss_mib", peak_rss_mib()}}
                             .dump(2)
                             .c_str());
  } else if (!recs.empty()) {
    print_epoch_table(recs);
  }
  return 0;
}

int cmd_eval(int argc, char **argv) {
  std::vector<Option> o = {{"--model", "CKPT", "checkpoint to evaluate", ""},
                           {"--corpus", "FILE", "corpus file", "the seed validation set of --data-seed"},
                           {"--data-seed", "S", "seed of the seed corpus", "the model's seed"},
                           {"--json", "", "print the statistics as JSON", ""}};
  o.insert(o.end(), kBackendOpt.begin(), kBackendOpt.end());
  Args a("eval --model CKPT [options]", "Mean loss and argmax errors of a model on a corpus.", o);
  if (!a.parse(argc, argv)) return 0;
  if (a.str("--model").empty()) throw Failure{"eval needs --model CKPT", 2};
  ModelPtr m;
  load_model(a.str("--model"), a.str("--backend"), m);
  anbn_config cfg{};
  cfg.struct_size = sizeof cfg;
  check(anbn_model_get_config(m.m, &cfg), "config");
  Corpora c;
  check(anbn_corpus_seed(cfg.language, a.has("--data-seed") ? a.seed("--data-seed") : cfg.seed, &c.train,
                         &c.valid),
        "seed corpus");
  if (a.has("--corpus")) {
    anbn_corpus_destroy(c.valid);
    c.valid = nullptr;
    check(anbn_corpus_load(a.str("--corpus").c_str(), anbn_language_alphabet(cfg.language), &c.valid), "--corpus");
  }
  anbn_eval_stats e{};
  e.struct_size = sizeof e;
  check(anbn_evaluate(m.m, c.valid, &e), "evaluation");
  if (a.flag("--json")) {
    std::printf("%s\n", eval_json(e).dump(2).c_str());
  } else {
    std::printf("sequences %zu, mean loss %.4f\n", e.sequences, e.mean_loss);
    std::printf("errors %zu of %zu positions (%.2f per sequence, rate %.4f)\n", e.errors, e.positions,
                double(e.errors) / double(e.sequences ? e.sequences : 1), double(e.errors) / double(e.positions ? e.positions : 1));
    std::printf("deterministic errors %zu of %zu; fully correct sequences %zu of %zu\n", e.deterministic_errors,
                e.deterministic_positions, e.correct_sequences, e.sequences);
  }
  return 0;
}

std::vector<int32_t> parse_tokens(const std::string &s) {
  std::vector<int32_t> t;
  const char *p = s.c_str();
  while (*p) {
    while (*p == ' ' || *p == ',') ++p;
    if (!*p) break;
    char *end;
    errno = 0;
    const long v = std::strtol(p, &end, 10);
    if (end == p || errno || v < INT32_MIN || v > INT32_MAX)
      throw Failure{"--sequence must be 32-bit integers separated by spaces, got '" + s + "'", 2};
    t.push_back(int32_t(v));
    p = end;
  }
  return t;
}

json matrix(const std::vector<float> &v, size_t rows) {
  json out = json::array();
  const size_t cols = rows ? v.size() / rows : 0;
  for (size_t r = 0; r < rows; ++r) out.push_back(std::vector<float>(v.begin() + r * cols, v.begin() + (r + 1) * cols));
  return out;
}

int cmd_probe(int argc, char **argv) {
  std::vector<Option> o = {{"--model", "CKPT", "checkpoint", ""},
                           {"--max-n", "N", "the seed's table (n, output, target, Diff) for n = 0..N-1", ""},
                           {"--sequence", "\"3 0 0 1 1 2\"", "one whole sequence: per-step log-probs, states, gates", ""},
                           {"--json", "", "print JSON ({log_probs,hidden,cell,gates} for --sequence)", ""}};
  o.insert(o.end(), kBackendOpt.begin(), kBackendOpt.end());
  Args a("probe --model CKPT (--max-n N | --sequence \"...\") [options]",
         "Look inside: the seed's argmax table, or the recurrent state along one sequence.", o);
  if (!a.parse(argc, argv)) return 0;
  if (a.str("--model").empty()) throw Failure{"probe needs --model CKPT", 2};
  if (a.has("--max-n") == a.has("--sequence")) throw Failure{"probe needs exactly one of --max-n N and --sequence", 2};
  ModelPtr m;
  load_model(a.str("--model"), a.str("--backend"), m);
  const anbn_model_info info = info_of(m.m);
  if (a.has("--max-n")) {
    const long long n = a.integer("--max-n", 1, 100000);
    if (n < 1 || n > 100000) throw Failure{"--max-n must be in 1..100000", 2};
    json rows = json::array();
    print_probe_table(m.m, info.language, int(n), a.flag("--json") ? &rows : nullptr);
    if (a.flag("--json")) std::printf("%s\n", json{{"rows", rows}}.dump(2).c_str());
    return 0;
  }
  const auto seq = parse_tokens(a.str("--sequence"));
  if (seq.size() < 2) throw Failure{"--sequence needs at least 2 tokens (the last one is only a target)", 2};
  const size_t T = seq.size() - 1, LH = size_t(info.layers) * size_t(info.hidden);
  std::vector<float> lp(T * size_t(info.output_size)), h(T * LH), c(T * LH), g(T * LH * size_t(info.gates));
  anbn_probe_buffers b;
  anbn_probe_buffers_init(&b);
  b.log_probs = lp.data(), b.log_probs_count = lp.size();
  b.hidden = h.data(), b.hidden_count = h.size();
  if (info.has_cell_state) b.cell = c.data(), b.cell_count = c.size();
  if (info.gates > 1) b.gates = g.data(), b.gates_count = g.size();
  check(anbn_probe(m.m, seq.data(), T, &b), "probe");
  if (a.flag("--json")) {
    json j{{"tokens", seq},
           {"log_probs", matrix(lp, T)},
           {"hidden", matrix(h, T)},
           {"cell", b.cell ? matrix(c, T) : json(nullptr)},
           {"gates", b.gates ? matrix(g, T) : json(nullptr)}};
    std::printf("%s\n", j.dump().c_str());
    return 0;
  }
  std::printf("%4s %6s %6s  %-24s %-24s\n", "t", "input", "target", "log p(0,1,..,END)", "hidden");
  for (size_t t = 0; t < T; ++t) {
    std::string l, hs;
    char buf[32];
    for (int k = 0; k < info.output_size; ++k) std::snprintf(buf, sizeof buf, "%s%.3f", k ? " " : "", lp[t * size_t(info.output_size) + size_t(k)]), l += buf;
    for (size_t k = 0; k < LH; ++k) std::snprintf(buf, sizeof buf, "%s%.3f", k ? " " : "", h[t * LH + k]), hs += buf;
    std::printf("%4zu %6d %6d  %-24s %-24s\n", t, seq[t], seq[t + 1], l.c_str(), hs.c_str());
  }
  return 0;
}

int cmd_capacity(int argc, char **argv) {
  std::vector<Option> o = {{"--model", "CKPT", "checkpoint", ""},
                           {"--max-n", "N", "test n = 1..N", "1000"},
                           {"--at", "N[,N...]", "spot checks: single n far beyond the scan, e.g. 10000,30000", ""},
                           {"--json", "", "print {capacity, first_failure, max_n, margin, per_n:[...], spot_checks:[...]}", ""}};
  o.insert(o.end(), kBackendOpt.begin(), kBackendOpt.end());
  Args a("capacity --model CKPT [--max-n 1000] [--at 10000,30000] [--json]",
         "The largest N such that every n <= N gets every deterministic position right, and the margin: the\n"
         "smallest probability the model gives a right deterministic symbol for n <= N.  The 0^n prefix is run\n"
         "once for all n.", o);
  if (!a.parse(argc, argv)) return 0;
  if (a.str("--model").empty()) throw Failure{"capacity needs --model CKPT", 2};
  ModelPtr m;
  load_model(a.str("--model"), a.str("--backend"), m);
  anbn_capacity_result r{};
  const std::vector<int32_t> at = parse_lengths(a.str("--at"), "--at");
  const json j = capacity_json(m.m, int(a.integer("--max-n", 1, 1000000)), at, &r);  // checked before rows are allocated
  if (a.flag("--json")) {
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("capacity %d (first failure at n = %d; tested n = 1..%d)", r.capacity, r.first_failure, r.max_n);
    if (r.capacity > 0) std::printf(", margin %.6g", j["margin"].get<double>());
    std::printf("\n");
    for (const auto &row : j["spot_checks"])
      std::printf("  n = %d: %s, margin %.6g\n", row["n"].get<int>(),
                  row["deterministic_errors"].get<int>() ? "wrong" : "right", row["min_prob"].get<double>());
    int shown = 0;
    for (const auto &row : j["per_n"])
      if (row["deterministic_errors"].get<int>() > 0 && shown++ < 10)
        std::printf("  n = %d: %d deterministic errors (Diff %d)\n", row["n"].get<int>(),
                    row["deterministic_errors"].get<int>(), row["errors"].get<int>());
  }
  return 0;
}

int cmd_generate(int argc, char **argv) {
  std::vector<Option> o = {{"--model", "CKPT", "checkpoint", ""},
                           {"--count", "N", "samples", "10"},
                           {"--temperature", "T", "sampling temperature, 0 = greedy", "1"},
                           {"--seed", "S", "sampling seed", "0"},
                           {"--json", "", "print {samples:[...], valid_fraction}", ""}};
  o.insert(o.end(), kBackendOpt.begin(), kBackendOpt.end());
  Args a("generate --model CKPT [options]", "Sample strings from the model, from START until END.", o);
  if (!a.parse(argc, argv)) return 0;
  if (a.str("--model").empty()) throw Failure{"generate needs --model CKPT", 2};
  ModelPtr m;
  load_model(a.str("--model"), a.str("--backend"), m);
  const long long count = a.integer("--count");
  if (count < 0) throw Failure{"--count must be >= 0", 2};
  size_t valid = 0;
  const json s = generate_json(m.m, size_t(count), a.real("--temperature"), a.seed("--seed"), &valid);
  const double frac = count ? double(valid) / double(count) : 0.0;
  if (a.flag("--json")) {
    std::printf("%s\n", json{{"samples", s}, {"valid_fraction", frac}}.dump(2).c_str());
  } else {
    for (const auto &x : s) std::printf("%s\n", tokens_string(x.get<std::vector<int32_t>>(), " ").c_str());
    std::printf("valid: %zu of %lld (%.2f)\n", valid, count, frac);
  }
  return 0;
}

int cmd_corpus(int argc, char **argv) {
  Args a("corpus [options]", "Write the seed corpus (training and validation sets) to files, one sequence per line.",
         {{"--language", "L", "anbn, anbnanbn or anbncn", "anbn"},
          {"--seed", "S", "corpus seed", "1"},
          {"--train", "FILE", "where to write the training set", "train.txt"},
          {"--valid", "FILE", "where to write the validation set", "valid.txt"}});
  if (!a.parse(argc, argv)) return 0;
  Corpora c;
  check(anbn_corpus_seed(language_arg(a), a.seed("--seed"), &c.train, &c.valid), "seed corpus");
  check(anbn_corpus_save(c.train, a.str("--train").c_str()), "writing " + a.str("--train"));
  check(anbn_corpus_save(c.valid, a.str("--valid").c_str()), "writing " + a.str("--valid"));
  return 0;
}

int cmd_experiment(int argc, char **argv) {
  std::vector<Option> o = {{"--out", "DIR", "where the checkpoints and experiment.json go", "anbn-experiment"},
                           {"--seed", "S", "seed of the corpus and of both models", "1"},
                           {"--language", "L", "anbn (0^n 1^n), anbnanbn (0^n 1^n 0^n 1^n, the seed's title) or anbncn", "anbn"},
                           {"--json", "", "print the whole report as JSON instead of tables", ""}};
  o.insert(o.end(), kBackendOpt.begin(), kBackendOpt.end());
  Args a("experiment [--language L] [--seed S] [--backend B] [--out DIR] [--json]",
         "The seed report end to end: a tanh RNN for 50 epochs and an LSTM for 20 (H = 2) on 0^n 1^n (or --language), the per-epoch\n"
         "table, the probe table for n = 0..19, capacity, generated samples, and checkpoints in DIR.",
         o);
  if (!a.parse(argc, argv)) return 0;
  const bool js = a.flag("--json");
  const std::string out = a.str("--out"), backend = a.str("--backend");
  if (mkdir(out.c_str(), 0755) != 0 && errno != EEXIST) throw Failure{"cannot create " + out + ": " + std::strerror(errno), 1};
  const uint64_t seed = a.seed("--seed");
  SigintScope sigint;  // Ctrl-C: stop after rolling back to the last finished epoch, exit 130
  const auto t0 = std::chrono::steady_clock::now();
  Corpora c;
  const anbn_language lang = language_arg(a);
  check(anbn_corpus_seed(lang, seed, &c.train, &c.valid), "seed corpus");
  json report{{"runs", json::array()}, {"language", anbn_language_name(lang)}};
  const struct {
    anbn_cell cell;
    int epochs;
    const char *name;
  } runs[] = {{ANBN_CELL_RNN_TANH, 50, "rnn"}, {ANBN_CELL_LSTM, 20, "lstm"}};
  for (const auto &run : runs) {
    anbn_config cfg;
    anbn_config_init(&cfg);
    cfg.backend = backend.c_str();
    cfg.cell = run.cell;
    cfg.seed = seed;
    cfg.language = lang;
    ModelPtr m;
    check(anbn_create(&cfg, &m.m), "creating the model");
    if (!js) {
      const anbn_model_info mi = info_of(m.m);
      std::printf("== %s (H = 2, %d epochs, backend %s: %s) ==\n", run.name, run.epochs, mi.backend, mi.backend_reason);
    }
    const auto recs = run_training(m.m, c.train, c.valid, run.epochs, !js, run.name);
    const std::string ckpt = out + "/" + run.name + ".safetensors";
    save_checkpoint(m.m, ckpt);
    anbn_capacity_result cap{};
    cap.struct_size = sizeof cap;
    check(anbn_capacity(m.m, 1000, &cap, nullptr, 0), "capacity");  // no table: stops at the first failure
    json capj{{"capacity", cap.capacity}, {"first_failure", cap.first_failure}, {"max_n", cap.max_n}};
    size_t valid = 0;
    const json samples = generate_json(m.m, 10, 1.0, seed, &valid);
    json probe = json::array();
    if (!js) {
      std::printf("\n%s: per-epoch results\n", run.name);
      print_epoch_table(recs);
      std::printf("\n%s: probe, n = 0..19\n", run.name);
      print_probe_table(m.m, lang, 20, nullptr);
      std::printf("\n%s: capacity %d (first failure at n = %d, tested to %d)\n", run.name, cap.capacity,
                  cap.first_failure, cap.max_n);
      std::printf("   (capacity N: the model predicts every deterministic symbol of every string with n <= N)\n");
      std::printf("%s: samples at temperature 1 (%zu of 10 in the language):", run.name, valid);
      for (const auto &s : samples) std::printf(" %s", body_string(s).c_str());
      std::printf("\n%s: checkpoint %s\n\n", run.name, ckpt.c_str());
    }
    print_probe_table(m.m, ANBN_LANG_ANBN, 20, &probe);
    json eps = json::array();
    for (const auto &r : recs) eps.push_back(epoch_json(r));
    report["runs"].push_back({{"cell", run.name}, {"epochs", eps}, {"capacity", capj}, {"probe", probe},
                              {"samples", samples}, {"valid_fraction", double(valid) / 10.0}, {"checkpoint", ckpt}});
  }
  report["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  report["backend"] = backend;
  const std::string path = out + "/experiment.json";
  if (FILE *f = std::fopen(path.c_str(), "w")) {
    std::fprintf(f, "%s\n", report.dump(2).c_str());
    std::fclose(f);
  }
  if (js) std::printf("%s\n", report.dump(2).c_str());
  else
    std::printf("capacity: rnn %d, lstm %d; %.2f s in all; report in %s\n",
                report["runs"][0]["capacity"]["capacity"].get<int>(), report["runs"][1]["capacity"]["capacity"].get<int>(),
                report["seconds"].get<double>(), path.c_str());
  return 0;
}

const struct {
  const char *name;
  int (*fn)(int, char **);
  const char *help;
} kCommands[] = {
    {"experiment", cmd_experiment, "the seed report end to end (RNN and LSTM, tables, capacity, samples)"},
    {"train", cmd_train, "train a model, evaluating every epoch"},
    {"eval", cmd_eval, "loss and errors of a checkpoint on a corpus"},
    {"probe", cmd_probe, "the seed's probe table, or states and gates along one sequence"},
    {"capacity", cmd_capacity, "how far the model counts correctly"},
    {"generate", cmd_generate, "sample strings from a model"},
    {"sweep", cli::cmd_sweep, "train over many seeds and report the capacity distribution"},
    {"diagnose", cli::cmd_diagnose, "how a model counts: the counter unit, its gates, the RNN's fixed point"},
    {"corpus", cmd_corpus, "write the seed corpus to files"},
    {"backends", cmd_backends, "list compute backends and their availability"},
};

void usage(FILE *out) {
  std::fprintf(out,
               "usage: anbn <command> [options]   (anbn <command> --help for each)\n\n"
               "Train small recurrent networks on 0^n 1^n and look inside them.\n\ncommands:\n");
  for (const auto &c : kCommands) std::fprintf(out, "  %-11s %s\n", c.name, c.help);
  std::fprintf(out, "\nanbn %s; plugins are found through ANBN_BACKEND_PATH and beside libanbn.\n", anbn_version());
}

}  // namespace

int main(int argc, char **argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (!std::strcmp(argv[1], "--version")) {
    std::printf("anbn %s\n", anbn_version());
    return 0;
  }
  for (const auto &c : kCommands) {
    if (std::strcmp(argv[1], c.name) != 0) continue;
    try {
      return c.fn(argc - 2, argv + 2);
    } catch (const Failure &f) {
      std::fprintf(stderr, "anbn %s: error: %s\n", c.name, f.message.c_str());
      if (f.code == 2 && !g_usage_line.empty()) std::fprintf(stderr, "%s\n", g_usage_line.c_str());  // once
      return f.code;
    } catch (const std::exception &e) {
      std::fprintf(stderr, "anbn: error: %s\n", e.what());
      return 1;
    }
  }
  std::fprintf(stderr, "anbn: unknown command '%s'\n\n", argv[1]);
  usage(stderr);
  return 2;
}
