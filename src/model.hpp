// The model handle: config, the backend table and context, the parameter
// layout, the core's generator, and the lock that turns concurrent use into
// ANBN_ERR_BUSY.
#pragma once
#include <atomic>
#include <string>
#include <vector>

#include "anbn/backend.h"
#include "corpus.hpp"
#include "error.hpp"
#include "rng.hpp"

namespace anbn {

struct ParamSpec {
  std::string name;  // state_dict name
  int32_t ndim;
  int64_t shape[2];
  size_t offset, numel;
};

struct Shape {
  anbn_cell cell;
  int32_t layers, hidden, embed, vocab, output;
  int32_t gates() const { return cell == ANBN_CELL_LSTM ? 4 : cell == ANBN_CELL_GRU ? 3 : 1; }
};

std::vector<ParamSpec> param_layout(const Shape &s);
size_t param_total(const std::vector<ParamSpec> &specs);

// Raises ANBN_ERR_INVALID_ARGUMENT (naming the field) for a bad config.
void check_config(const anbn_config &c);
void check_training(const anbn_config &c);

}  // namespace anbn

struct anbn_model {
  anbn_config cfg{};
  std::string backend;                // resolved name
  anbn::Shape shape{};
  int32_t alphabet = 2;
  const anbn_backend_iface *be = nullptr;
  anbn_backend_ctx *ctx = nullptr;
  std::vector<anbn::ParamSpec> params;
  size_t num_params = 0;
  anbn::Rng rng;                      // shuffling order
  int64_t epoch = 0;
  mutable std::atomic<bool> busy{false};

  ~anbn_model() {
    if (be && ctx) be->destroy(ctx);
  }
};

namespace anbn {

// Holds a model for the duration of one API call.
class ModelLock {
 public:
  explicit ModelLock(const anbn_model *m) : m_(m) {
    ANBN_CHECK_ARG(m, "model is NULL");
    bool expected = false;
    if (!m->busy.compare_exchange_strong(expected, true))
      raise(ANBN_ERR_BUSY, "the model is in use by another call (another thread or a progress callback)");
  }
  ~ModelLock() { m_->busy.store(false); }
  ModelLock(const ModelLock &) = delete;
  ModelLock &operator=(const ModelLock &) = delete;

 private:
  const anbn_model *m_;
};

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

// Raises for a token sequence the model cannot read.
void check_tokens(const anbn_model *m, const int32_t *tokens, size_t len);

// Creates the backend context and the parameter layout; no initialisation.
void model_build(anbn_model *m, const anbn_config &cfg);
void model_init_params(anbn_model *m);

const anbn_backend_iface *registry_resolve(const char *name, std::string *resolved);

}  // namespace anbn
