// The model handle: config, the backend table and context, the parameter
// layout, the core's generator, and the lock that turns concurrent use into
// ANBN_ERR_BUSY.
#pragma once
#include <atomic>
#include <string>
#include <vector>

#include "anbn/backend.h"
#include "../backends/common/cell.hpp"
#include "corpus.hpp"
#include "error.hpp"
#include "rng.hpp"

namespace anbn {

// A handle's use: 0 idle, 1 in a call, 2 in a call that must destroy it on
// the way out (the caller destroyed it meanwhile), 3 destroyed.
using InUse = std::atomic<int>;

// Holds a handle for the duration of one API call: concurrent or re-entrant
// use gets ANBN_ERR_BUSY.  Destroying a handle while a call holds it is the
// caller's error (see anbn.h); it is caught where cheap: the destroy is
// deferred to the end of that call instead of freeing memory in use.
template <class T>
class HandleLock {
 public:
  HandleLock(const T *h, const char *what = "model") : h_(h) {
    ANBN_CHECK_ARG(h, "%s is NULL", what);
    int expected = 0;
    if (!h->use.compare_exchange_strong(expected, 1, std::memory_order_acquire))
      raise(expected == 1 ? ANBN_ERR_BUSY : ANBN_ERR_INVALID_ARGUMENT,
            expected == 1 ? "the %s is in use by another call (another thread or a progress callback)"
                          : "the %s has been destroyed", what);
  }
  ~HandleLock() {
    int expected = 1;
    if (!h_->use.compare_exchange_strong(expected, 0, std::memory_order_release)) delete const_cast<T *>(h_);
  }
  HandleLock(const HandleLock &) = delete;
  HandleLock &operator=(const HandleLock &) = delete;

 private:
  const T *h_;
};

// *_destroy: frees an idle handle now, one in use when its call returns.
template <class T>
void destroy_handle(T *h) {
  if (!h) return;
  int expected = 0;
  while (true) {
    if (h->use.compare_exchange_strong(expected, 3, std::memory_order_acquire)) {
      delete h;
      return;
    }
    if (expected != 1) return;  // already being destroyed
    if (h->use.compare_exchange_strong(expected, 2)) return;
    if (expected == 0) continue;
    return;
  }
}

struct ParamSpec {
  std::string name;  // state_dict name
  int32_t ndim;
  int64_t shape[2];
  size_t offset, numel;
};

struct Shape {
  anbn_cell cell;
  int32_t layers, hidden, embed, vocab, output;
  const anbn_cells::Def &def() const { return *anbn_cells::find(cell); }  // cell is checked before a Shape exists
  int32_t gates() const { return def().gates; }
};

std::string module_name(anbn_cell cell);
struct Shape;
std::string legacy_name(const std::string &name, anbn_cell cell);
std::vector<ParamSpec> param_layout(const Shape &s);
size_t param_total(const std::vector<ParamSpec> &specs);

// Raises ANBN_ERR_INVALID_ARGUMENT (naming the field) for a bad config.
void check_config(const anbn_config &c);
void check_training(const anbn_config &c);

}  // namespace anbn

struct anbn_model {
  anbn_config cfg{};
  std::string backend;                // resolved name
  std::string backend_reason;         // why: asked for by name, or the auto rule
  anbn::Shape shape{};
  int32_t alphabet = 2;
  const anbn_backend_iface *be = nullptr;
  anbn_backend_ctx *ctx = nullptr;
  std::vector<anbn::ParamSpec> params;
  size_t num_params = 0;
  anbn::Rng rng;                      // shuffling order
  int64_t epoch = 0;
  int64_t adam_step = 0;              // the core's count of Adam steps (the backend's is for its update)
  mutable anbn::InUse use;

  ~anbn_model() {
    if (be && ctx) be->destroy(ctx);
  }
};

namespace anbn {

using ModelLock = HandleLock<anbn_model>;

// Backend calls: a failing status becomes an Error with the backend's message.
#define ANBN_BE(model, method, ...)                                                      \
  do {                                                                                   \
    char be_err_[512] = "";                                                              \
    anbn_status be_s_ = (model)->be->method((model)->ctx, __VA_ARGS__, be_err_, sizeof be_err_); \
    if (be_s_ != ANBN_OK)                                                                \
      ::anbn::raise(be_s_, "backend '%s' %s: %s", (model)->backend.c_str(), #method,     \
                    be_err_[0] ? be_err_ : anbn_status_string(be_s_));                   \
  } while (0)

// Snapshot of everything training changes, to roll back a failed call.
struct Snapshot {
  std::vector<float> p, m, v;
  int64_t step = 0, epoch = 0;
  Rng rng;
};
Snapshot take_snapshot(anbn_model *m);
void restore_snapshot(anbn_model *m, const Snapshot &s);

std::vector<float> get_params(anbn_model *m);

// Training (train.cpp): an epoch's order (advances the model's generator),
// and one epoch of a model the caller holds (all or nothing).
std::vector<size_t> epoch_order(anbn_model *m, const anbn_corpus &corpus);
void check_corpus_for(const anbn_model *m, const anbn_corpus *corpus);
void train_epoch_held(anbn_model *m, const anbn_corpus *corpus, anbn_progress_fn progress, void *user,
                      anbn_epoch_stats *stats);

// Raises for a token sequence the model cannot read.
void check_tokens(const anbn_model *m, const int32_t *tokens, size_t len);
void check_targets(const anbn_model *m, const int32_t *targets, size_t count);
int32_t effective_threads(int32_t asked);
std::string auto_backend(const Shape &s, int32_t batch, std::string *why);

// Creates the backend context and the parameter layout; no initialisation.
void model_build(anbn_model *m, const anbn_config &cfg);
void model_init_params(anbn_model *m);

const anbn_backend_iface *registry_resolve(const char *name, std::string *resolved);

}  // namespace anbn
