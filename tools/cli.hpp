// Small helpers shared by the anbn subcommands: option parsing with help
// text, error reporting, progress display, corpus and model loading.
#pragma once
#include <anbn/anbn.h>

#include <signal.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace cli {

using json = nlohmann::json;

// A CLI failure: printed by main as "anbn: error: ..." with exit code 1 (2 for usage).
struct Failure {
  std::string message;
  int code;
};

// Throws Failure with the library's message when rc is not ANBN_OK.
void check(anbn_status rc, const std::string &what);

// "rnn|lstm|gru|peephole": the cells --cell takes, from their definitions.
std::string cell_choices();

struct Option {
  std::string name;   // "--hidden"
  std::string value;  // metavariable, "" for a flag
  std::string help;
  std::string def;    // default shown in --help
};

class Args {
 public:
  Args(std::string command, std::string synopsis, std::vector<Option> options);
  // Parses argv; returns false if --help was printed.
  bool parse(int argc, char **argv);
  bool has(const std::string &name) const { return values_.count(name) > 0; }
  std::string str(const std::string &name) const;
  // Parsed with a range check (usage error outside lo..hi): never truncated.
  long long integer(const std::string &name, long long lo = 0, long long hi = INT32_MAX) const;
  uint64_t seed(const std::string &name) const;  // 0..2^64-1
  double real(const std::string &name) const;
  bool flag(const std::string &name) const { return has(name); }
  void usage(FILE *out) const;

 private:
  const Option *find(const std::string &name) const;
  std::string command_, synopsis_;
  std::vector<Option> options_;
  std::map<std::string, std::string> values_;
};

// Ctrl-C: the first SIGINT sets g_interrupted, which the progress callbacks
// turn into a cancel (the model rolls back to its last finished epoch);
// SA_RESETHAND makes a second one end the program at once.
extern volatile sig_atomic_t g_interrupted;
struct SigintScope {
  struct sigaction old {};
  SigintScope();
  ~SigintScope();
};
// A progress callback that only cancels on Ctrl-C.
int cancel_on_sigint(void *user, const anbn_progress *p);

// The synopsis of the command being run, printed once after a usage error.
extern std::string g_usage_line;

// Progress on stderr: a live line with an ETA on a terminal, plain lines on a pipe.
struct ProgressBar {
  bool tty, live = false;
  double last_line = 0;  // seconds since start of the last plain line
  int lines = 0;
  std::chrono::steady_clock::time_point start;
  ProgressBar();
  void update(const std::string &what, double fraction, const std::string &detail);  // tty: live; else one line
  void update(const char *label, size_t done, size_t total, double loss);             // tty only
  void finish();
};

struct Corpora {
  anbn_corpus *train = nullptr, *valid = nullptr;
  ~Corpora() {
    anbn_corpus_destroy(train);
    anbn_corpus_destroy(valid);
  }
};

struct ModelPtr {
  anbn_model *m = nullptr;
  ModelPtr() = default;
  ModelPtr(const ModelPtr &) = delete;
  ModelPtr &operator=(const ModelPtr &) = delete;
  ~ModelPtr() { anbn_destroy(m); }
};

// The margin of a scan: the smallest min_prob over n = 1..capacity (1 if capacity is 0).
double capacity_margin(const std::vector<anbn_capacity_row_v2> &rows, int32_t capacity);

// "a,b,c" -> {"a", "b", "c"} ("" -> {}).
std::vector<std::string> split_commas(const std::string &spec);
// "10000,30000" -> {10000, 30000}; each in 1..1e6 ("" -> {}).  `what` names the option in errors.
std::vector<int32_t> parse_lengths(const std::string &spec, const std::string &what);

anbn_language language_arg(const Args &a);
anbn_cell cell_arg(const Args &a);
void load_model(const std::string &path, const std::string &backend, ModelPtr &out);
anbn_model_info info_of(const anbn_model *m);

// The seed's table rows: argmax string and target string of one sequence.
struct ProbeRow {
  int32_t n;
  std::string output, target;
  int32_t diff, det_errors;
};
ProbeRow probe_row(anbn_model *m, anbn_language lang, int32_t n);
std::string tokens_string(const std::vector<int32_t> &t, const char *sep);
std::vector<std::vector<int32_t>> corpus_sequences(const anbn_corpus *c);

json eval_json(const anbn_eval_stats &e);

// Writes a checkpoint and says so on stderr ("saved PATH").
void save_checkpoint(anbn_model *m, const std::string &path);
// Fails early, before any training, when `path` could not be written.
void check_writable(const std::string &path);

}  // namespace cli
