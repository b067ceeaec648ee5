#include "cli.hpp"

#include <unistd.h>
#include <cstdlib>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <chrono>
#include <cstring>

#include "../backends/common/cell.hpp"

namespace cli {

void check(anbn_status rc, const std::string &what) {
  if (rc == ANBN_OK) return;
  throw Failure{what + ": " + anbn_status_string(rc) + ": " + anbn_last_error(), 1};
}

std::string g_usage_line;

volatile sig_atomic_t g_interrupted = 0;
static void on_sigint(int) { g_interrupted = 1; }

SigintScope::SigintScope() {
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sa.sa_flags = SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old);
}
SigintScope::~SigintScope() { sigaction(SIGINT, &old, nullptr); }

int cancel_on_sigint(void *, const anbn_progress *) { return g_interrupted ? 1 : 0; }

Args::Args(std::string command, std::string synopsis, std::vector<Option> options)
    : command_(std::move(command)), synopsis_(std::move(synopsis)), options_(std::move(options)) {
  options_.push_back({"--help", "", "show this help and exit (also -h)", ""});
  g_usage_line = "usage: anbn " + command_ + "   (anbn " + command_.substr(0, command_.find(' ')) + " --help for all options)";
}

const Option *Args::find(const std::string &name) const {
  for (const Option &o : options_)
    if (o.name == name) return &o;
  return nullptr;
}

void Args::usage(FILE *out) const {
  std::fprintf(out, "usage: anbn %s\n\n%s\n\noptions:\n", command_.c_str(), synopsis_.c_str());
  for (const Option &o : options_) {
    std::string left = "  " + o.name + (o.value.empty() ? "" : " " + o.value);
    std::fprintf(out, "%-26s %s%s\n", left.c_str(), o.help.c_str(),
                 o.def.empty() ? "" : (" (default: " + o.def + ")").c_str());
  }
}

bool Args::parse(int argc, char **argv) {
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i], v;
    const size_t eq = a.find('=');
    bool inline_value = false;
    if (a.rfind("--", 0) == 0 && eq != std::string::npos) v = a.substr(eq + 1), a = a.substr(0, eq), inline_value = true;
    const Option *o = find(a == "-h" ? "--help" : a);
    if (!o) throw Failure{"unknown option '" + a + "'", 2};
    if (a == "-h") a = "--help", o = find(a);
    if (a == "--help") {
      usage(stdout);
      return false;
    }
    if (!o->value.empty() && !inline_value) {
      if (i + 1 >= argc) throw Failure{a + " needs a value " + o->value, 2};
      v = argv[++i];
    }
    values_[a] = v;
  }
  return true;
}

std::string Args::str(const std::string &name) const {
  auto it = values_.find(name);
  if (it != values_.end()) return it->second;
  const Option *o = find(name);
  // A default with a space in it describes what happens ("the model's seed"),
  // it is not a value: the option is simply unset.
  return o && o->def.find(' ') == std::string::npos ? o->def : "";
}

long long Args::integer(const std::string &name, long long lo, long long hi) const {
  const std::string s = str(name);
  char *end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end || errno || v < lo || v > hi)
    throw Failure{name + " needs an integer in " + std::to_string(lo) + ".." + std::to_string(hi) + ", got '" + s + "'", 2};
  return v;
}

uint64_t Args::seed(const std::string &name) const {
  const std::string s = str(name);
  char *end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (s.empty() || s[0] == '-' || s[0] == '+' || *end || errno)
    throw Failure{name + " needs an integer in 0.." + std::to_string(UINT64_MAX) + ", got '" + s + "'", 2};
  return v;
}

double Args::real(const std::string &name) const {
  const std::string s = str(name);
  char *end = nullptr;
  errno = 0;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end || errno || !std::isfinite(v) || std::fabs(v) > 3.4e38)
    throw Failure{name + " needs a finite number, got '" + s + "'", 2};
  return v;
}

ProgressBar::ProgressBar() : tty(isatty(2) && !std::getenv("CI")), start(std::chrono::steady_clock::now()) {}

// Progress goes to stderr: one live line on a terminal, plain lines on a pipe
// (the first, then one every 2 s).  fraction: how much of
// the whole job is done, for the ETA.
void ProgressBar::update(const std::string &what, double fraction, const std::string &detail) {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  char eta[48] = "";
  if (fraction >= 0.02 && fraction < 1.0)  // an estimate from the first sequences alone would be startup cost
    std::snprintf(eta, sizeof eta, "  ETA %.1f s", elapsed / fraction - elapsed);
  if (tty) {
    std::fprintf(stderr, "\r\033[K%s  %s%s", what.c_str(), detail.c_str(), eta);
    std::fflush(stderr);
    live = true;
  } else if (lines == 0 || elapsed - last_line >= 2.0) {  // a log, not a flood: a line every 2 s at most
    std::fprintf(stderr, "%s  %s%s\n", what.c_str(), detail.c_str(), eta);
    last_line = elapsed, ++lines;
  }
}

void ProgressBar::update(const char *label, size_t done, size_t total, double loss) {
  if (total == 0) return;
  char detail[96];
  std::snprintf(detail, sizeof detail, "%zu/%zu  loss %.3f", done, total, loss);
  if (tty) update(label, double(done) / double(total), detail);
}

void ProgressBar::finish() {
  if (tty && live) std::fprintf(stderr, "\r\033[K"), std::fflush(stderr);
  live = false;
}

double capacity_margin(const std::vector<anbn_capacity_row_v2> &rows, int32_t capacity) {
  double margin = 1.0;
  for (const auto &r : rows)
    if (r.n <= capacity) margin = std::min(margin, double(r.min_prob));
  return margin;
}

std::vector<std::string> split_commas(const std::string &spec) {
  std::vector<std::string> out;
  for (size_t start = 0; start < spec.size();) {
    size_t comma = spec.find(',', start);
    if (comma == std::string::npos) comma = spec.size();
    out.push_back(spec.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

std::vector<int32_t> parse_lengths(const std::string &spec, const std::string &what) {
  std::vector<int32_t> out;
  for (const std::string &part : split_commas(spec)) {
    char *end = nullptr;
    const long n = std::strtol(part.c_str(), &end, 10);
    if (end == part.c_str() || *end || n < 1 || n > 1000000)
      throw Failure{what + ": bad n '" + part + "' (each in 1..1000000, e.g. 10000,30000)", 2};
    out.push_back(int32_t(n));
  }
  return out;
}

anbn_language language_arg(const Args &a) {
  anbn_language l;
  check(anbn_language_from_name(a.str("--language").c_str(), &l), "--language");
  return l;
}

anbn_cell cell_arg(const Args &a) {
  anbn_cell c;
  check(anbn_cell_from_name(a.str("--cell").c_str(), &c), "--cell");
  return c;
}

void load_model(const std::string &path, const std::string &backend, ModelPtr &out) {
  check(anbn_load(path.c_str(), backend.c_str(), &out.m), "loading " + path);
}

anbn_model_info info_of(const anbn_model *m) {
  anbn_model_info i{};
  i.struct_size = sizeof i;
  check(anbn_model_get_info(m, &i), "model info");
  return i;
}

std::string tokens_string(const std::vector<int32_t> &t, const char *sep) {
  std::string s;
  for (size_t i = 0; i < t.size(); ++i) s += (i ? sep : "") + std::to_string(t[i]);
  return s;
}

std::string cell_choices() {
  std::string s;
  for (const anbn_cells::Def &d : anbn_cells::kCells)  // rnn_tanh is asked for as rnn, as the seed's SimpleRNN
    s += (s.empty() ? "" : "|") + std::string(d.id == ANBN_CELL_RNN_TANH ? "rnn" : d.name);
  return s;
}

ProbeRow probe_row(anbn_model *m, anbn_language lang, int32_t n) {
  size_t len = 0;
  anbn_language_sequence(lang, n, nullptr, 0, &len);
  std::vector<int32_t> seq(len);
  check(anbn_language_sequence(lang, n, seq.data(), seq.size(), &len), "sequence");
  std::vector<int32_t> best(len - 1), det(len - 1);
  anbn_probe_buffers b;
  anbn_probe_buffers_init(&b);
  b.argmax = best.data(), b.argmax_count = best.size();
  b.deterministic = det.data(), b.deterministic_count = det.size();
  check(anbn_probe(m, seq.data(), len - 1, &b), "probe");
  ProbeRow r{n, "", "", 0, 0};
  for (size_t t = 0; t + 1 < len; ++t) {
    r.output += std::to_string(best[t]);
    r.target += std::to_string(seq[t + 1]);
    if (best[t] != seq[t + 1]) r.diff += 1, r.det_errors += det[t];
  }
  return r;
}

std::vector<std::vector<int32_t>> corpus_sequences(const anbn_corpus *c) {
  size_t n = 0;
  check(anbn_corpus_size(c, &n), "corpus");
  std::vector<std::vector<int32_t>> out(n);
  for (size_t i = 0; i < n; ++i) {
    size_t len = 0;
    anbn_corpus_get(c, i, nullptr, 0, &len);
    out[i].resize(len);
    check(anbn_corpus_get(c, i, out[i].data(), len, &len), "corpus");
  }
  return out;
}

json eval_json(const anbn_eval_stats &e) {
  return json{{"mean_loss", e.mean_loss},
              {"sequences", e.sequences},
              {"positions", e.positions},
              {"errors", e.errors},
              {"deterministic_positions", e.deterministic_positions},
              {"deterministic_errors", e.deterministic_errors},
              {"correct_sequences", e.correct_sequences},
              {"errors_per_sequence", e.sequences ? double(e.errors) / double(e.sequences) : 0.0},
              {"error_rate", e.positions ? double(e.errors) / double(e.positions) : 0.0}};
}

void save_checkpoint(anbn_model *m, const std::string &path) {
  check(anbn_save(m, path.c_str()), "saving " + path);
  std::fprintf(stderr, "saved %s\n", path.c_str());
}

// Fails early, before any training, when the checkpoint could not be written.
void check_writable(const std::string &path) {
  if (path.empty()) return;
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  std::string probe = dir + "/.anbn-write-test-XXXXXX";
  const int fd = mkstemp(&probe[0]);
  if (fd < 0) throw Failure{"--save: cannot write into '" + dir + "': " + std::strerror(errno), 1};
  close(fd);
  unlink(probe.c_str());
}

}  // namespace cli
