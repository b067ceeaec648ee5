// Model creation, PyTorch-default initialisation, configuration and
// parameter access by state_dict name.
#include "model.hpp"
#include "versioned.hpp"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <memory>
#include <thread>

namespace anbn {

// The recurrent module's name, as the seed's classes call it: SimpleRNN's
// self.rnn, SimpleLSTM's self.lstm (and a GRU's self.gru).
std::string module_name(anbn_cell cell) { return anbn_cells::find(cell)->module; }

// A recurrent tensor's name as 0.2 spelled it for every cell ("rnn.*"), or "".
std::string legacy_name(const std::string &name, anbn_cell cell) {
  const std::string mod = module_name(cell) + ".";
  if (cell == ANBN_CELL_RNN_TANH || name.compare(0, mod.size(), mod) != 0) return "";
  return "rnn." + name.substr(mod.size());
}

std::vector<ParamSpec> param_layout(const Shape &s) {
  const int64_t G = s.gates(), H = s.hidden;
  std::vector<ParamSpec> v;
  size_t off = 0;
  auto add = [&](std::string name, int64_t r, int64_t c) {
    ParamSpec p{std::move(name), c ? 2 : 1, {r, c}, off, size_t(r) * size_t(c ? c : 1)};
    off += p.numel;
    v.push_back(std::move(p));
  };
  add("embedding.weight", s.vocab, s.embed);
  const std::string mod = module_name(s.cell) + ".";
  for (int l = 0; l < s.layers; ++l) {
    const std::string L = std::to_string(l);
    add(mod + "weight_ih_l" + L, G * H, l == 0 ? s.embed : H);
    add(mod + "weight_hh_l" + L, G * H, H);
    add(mod + "bias_ih_l" + L, G * H, 0);
    add(mod + "bias_hh_l" + L, G * H, 0);
    if (const int P = s.def().peephole) add(mod + "weight_peephole_l" + L, P, H);
  }
  add("fc.weight", s.output, H);
  add("fc.bias", s.output, 0);
  return v;
}

size_t param_total(const std::vector<ParamSpec> &specs) {
  return specs.empty() ? 0 : specs.back().offset + specs.back().numel;
}

static bool finite_pos(float x) { return std::isfinite(x) && x > 0.f; }

void check_training(const anbn_config &c) {
  // One rule for every way a config arrives (create, set_training, load), so
  // whatever the library saves it loads again.
  ANBN_CHECK_ARG(finite_pos(c.lr), "lr must be finite and > 0, got %g", double(c.lr));
  ANBN_CHECK_ARG(std::isfinite(c.beta1) && c.beta1 >= 0.f && c.beta1 < 1.f, "beta1 must be in [0, 1), got %g", double(c.beta1));
  ANBN_CHECK_ARG(std::isfinite(c.beta2) && c.beta2 >= 0.f && c.beta2 < 1.f, "beta2 must be in [0, 1), got %g", double(c.beta2));
  ANBN_CHECK_ARG(finite_pos(c.eps), "eps must be finite and > 0, got %g", double(c.eps));
  ANBN_CHECK_ARG(c.batch_size >= 1 && c.batch_size <= 1 << 20, "batch_size must be in 1..2^20, got %d", c.batch_size);
  ANBN_CHECK_ARG(c.shuffle == 0 || c.shuffle == 1, "shuffle must be 0 or 1, got %d", c.shuffle);
  ANBN_CHECK_ARG(c.progress_every >= 1, "progress_every must be >= 1, got %d", c.progress_every);
  ANBN_CHECK_ARG(std::isfinite(c.clip_norm) && c.clip_norm >= 0.f, "clip_norm must be finite and >= 0, got %g",
                 double(c.clip_norm));
}

void check_config(const anbn_config &c) {
  ANBN_CHECK_ARG(cell_valid(c.cell), "unknown cell %d", enum_value(c.cell));
  ANBN_CHECK_ARG(language_valid(c.language), "unknown language %d", enum_value(c.language));
  ANBN_CHECK_ARG(c.hidden >= 1 && c.hidden <= 8192, "hidden must be in 1..8192, got %d", c.hidden);
  ANBN_CHECK_ARG(c.embed >= 0 && c.embed <= 8192, "embed must be in 0..8192 (0 = hidden), got %d", c.embed);
  ANBN_CHECK_ARG(c.layers >= 1 && c.layers <= 64, "layers must be in 1..64, got %d", c.layers);
  ANBN_CHECK_ARG(c.threads >= 0 && c.threads <= 1024, "threads must be in 0..1024, got %d", c.threads);
  check_training(c);
}

void check_tokens(const anbn_model *m, const int32_t *tokens, size_t len) {
  ANBN_CHECK_ARG(tokens, "tokens is NULL");
  ANBN_CHECK_ARG(len >= 1, "sequence is empty");
  ANBN_CHECK_ARG(len <= (1u << 30), "sequence of %zu tokens is too long", len);
  for (size_t i = 0; i < len; ++i)
    ANBN_CHECK_ARG(tokens[i] >= 0 && tokens[i] < m->shape.vocab,
                   "token %d at position %zu is out of range 0..%d", tokens[i], i, m->shape.vocab - 1);
}

// Targets index the output_size = k+1 log-probs: letters or END, never START.
void check_targets(const anbn_model *m, const int32_t *targets, size_t count) {
  for (size_t i = 0; i < count; ++i)
    ANBN_CHECK_ARG(targets[i] >= 0 && targets[i] < m->shape.output,
                   "target %d at position %zu is not a letter or END (0..%d); START is never a target", targets[i],
                   i + 1, m->shape.output - 1);
}

std::vector<float> get_params(anbn_model *m) {
  std::vector<float> p(m->num_params);
  ANBN_BE(m, get_params, p.data(), p.size());
  return p;
}

Snapshot take_snapshot(anbn_model *m) {
  Snapshot s;
  s.p = get_params(m);
  s.m.resize(m->num_params), s.v.resize(m->num_params);
  ANBN_BE(m, get_adam, s.m.data(), s.v.data(), s.m.size(), &s.step);
  s.epoch = m->epoch;
  s.rng = m->rng;
  return s;
}

void restore_snapshot(anbn_model *m, const Snapshot &s) {
  ANBN_BE(m, set_params, s.p.data(), s.p.size());
  ANBN_BE(m, set_adam, s.m.data(), s.v.data(), s.m.size(), s.step);
  m->adam_step = s.step;
  m->epoch = s.epoch;
  m->rng = s.rng;
}

// `auto`: the faster backend for this shape, by the rule measured in
// bench/auto_rule.md (seconds per epoch of the seed corpus, ref vs onednn):
// onednn once gates * H * sqrt(batch) >= 64 (one Adam step per sequence: the
// tanh RNN from H = 64, the LSTM from H = 16), ref below (at the seed's H = 2
// ref is 7-10x faster: oneDNN's fixed cost per call dominates tiny matrices).
std::string auto_backend(const Shape &s, int32_t batch, std::string *why) {
  const double score = double(s.gates()) * double(s.hidden) * std::sqrt(double(std::max(batch, 1)));
  const bool big = score >= 64.0;
  char buf[160];
  std::snprintf(buf, sizeof buf, "auto: gates*H*sqrt(batch) = %.0f %s 64, where %s is faster (bench/auto_rule.md)", score,
                big ? ">=" : "<", big ? "onednn" : "ref");
  *why = buf;
  return big ? "onednn" : "ref";
}

// Threads a backend may use: 0 means 1, and never more than the machine has
// (a checkpoint saying 1024 must not start 1024 threads).
int32_t effective_threads(int32_t asked) {
  const unsigned hw = std::thread::hardware_concurrency();
  const int32_t cap = hw ? int32_t(std::min(hw, 1024u)) : 1;
  return std::max(1, std::min(asked, cap));
}

void model_build(anbn_model *m, const anbn_config &cfg) {
  check_config(cfg);
  m->cfg = cfg;
  m->alphabet = alphabet_of(cfg.language);
  m->shape = Shape{cfg.cell, cfg.layers, cfg.hidden, cfg.embed ? cfg.embed : cfg.hidden,
                   m->alphabet + 2, m->alphabet + 1};
  m->cfg.embed = m->shape.embed;
  m->params = param_layout(m->shape);
  m->num_params = param_total(m->params);
  const std::string asked = cfg.backend ? cfg.backend : "auto";
  if (asked == "auto") {
    const std::string pick = auto_backend(m->shape, cfg.batch_size, &m->backend_reason);
    try {
      m->be = registry_resolve(pick.c_str(), &m->backend);
    } catch (const Error &) {  // onednn would be faster but cannot be used here
      m->be = registry_resolve("ref", &m->backend);
      m->backend_reason += "; onednn is unavailable, so ref";
    }
  } else {
    m->be = registry_resolve(asked.c_str(), &m->backend);
    m->backend_reason = "asked for by name";
  }
  m->cfg.backend = m->backend.c_str();
  anbn_backend_desc d{};
  d.struct_size = sizeof d;
  d.cell = cfg.cell;
  d.layers = m->shape.layers, d.hidden = m->shape.hidden, d.embed = m->shape.embed;
  d.vocab = m->shape.vocab, d.output = m->shape.output;
  d.threads = m->cfg.threads = effective_threads(cfg.threads);
  char err[512] = "";
  anbn_status s = m->be->create(&d, &m->ctx, err, sizeof err);
  if (s != ANBN_OK) raise(s, "backend '%s' create: %s", m->backend.c_str(), err[0] ? err : anbn_status_string(s));
  m->rng.reseed(cfg.seed ^ 0x5eed5eed5eed5eedull);  // shuffling stream, apart from init's
}

// PyTorch defaults, drawn in canonical order from Rng(seed):
// embedding ~ N(0,1); every other tensor ~ U(-1/sqrt(H), 1/sqrt(H)),
// as float(-k + 2k*u).
void model_init_params(anbn_model *m) {
  Rng rng(m->cfg.seed);
  std::vector<float> p(m->num_params);
  const double k = 1.0 / std::sqrt(double(m->shape.hidden));
  for (const ParamSpec &s : m->params) {
    float *dst = p.data() + s.offset;
    const bool normal = s.name == "embedding.weight";
    for (size_t i = 0; i < s.numel; ++i) dst[i] = normal ? float(rng.normal()) : float(-k + 2.0 * k * rng.uniform());
  }
  ANBN_BE(m, set_params, p.data(), p.size());
  std::vector<float> zeros(m->num_params, 0.f);
  ANBN_BE(m, set_adam, zeros.data(), zeros.data(), zeros.size(), int64_t(0));
  m->adam_step = 0;
}

static const ParamSpec &find_param(const anbn_model *m, const char *name) {
  ANBN_CHECK_ARG(name, "name is NULL");
  for (const ParamSpec &s : m->params)
    if (s.name == name || legacy_name(s.name, m->shape.cell) == name) return s;  // 0.2's rnn.* still works
  raise(ANBN_ERR_INVALID_ARGUMENT, "no parameter named '%s'", name);
}

}  // namespace anbn

using namespace anbn;

extern "C" {

const char *anbn_cell_name(anbn_cell c) {
  const anbn_cells::Def *d = cell_valid(c) ? anbn_cells::find(c) : nullptr;
  return d ? d->name : nullptr;
}

const char *anbn_cell_gate_rows(anbn_cell c) {
  const anbn_cells::Def *d = cell_valid(c) ? anbn_cells::find(c) : nullptr;
  return d ? d->rows : nullptr;
}

anbn_status anbn_cell_from_name(const char *name, anbn_cell *out) {
  return guard([&] {
    ANBN_CHECK_ARG(name && out, "name or out is NULL");
    if (!std::strcmp(name, "rnn") || !std::strcmp(name, "tanh")) name = "rnn_tanh";
    for (const anbn_cells::Def &d : anbn_cells::kCells)
      if (!std::strcmp(name, d.name)) return *out = anbn_cell(d.id), ANBN_OK;
    raise(ANBN_ERR_INVALID_ARGUMENT, "unknown cell '%s' (rnn, lstm, gru, peephole)", name);
    return ANBN_ERR_INVALID_ARGUMENT;
  });
}

static anbn_config config_defaults() {
  anbn_config c{};
  c.struct_size = sizeof c;
  c.backend = "auto";
  c.cell = ANBN_CELL_RNN_TANH;
  c.language = ANBN_LANG_ANBN;
  c.hidden = 2;
  c.embed = 0;
  c.layers = 1;
  c.seed = 1;
  c.lr = 1e-3f;
  c.beta1 = 0.9f;
  c.beta2 = 0.999f;
  c.eps = 1e-8f;
  c.batch_size = 1;
  c.shuffle = 1;
  c.threads = 1;
  c.progress_every = 500;
  c.clip_norm = 0.f;
  return c;
}

void(anbn_config_init)(anbn_config *c) { init_sized(c, config_defaults(), Size02<anbn_config>::value); }
void anbn_config_init_v2(anbn_config *c, size_t size) { init_sized(c, config_defaults(), size); }

anbn_status anbn_create(const anbn_config *config, anbn_model **out) {
  return guard([&] {
    ANBN_CHECK_ARG(config && out, "config or out is NULL");
    const anbn_config cfg = read_in(config, config_defaults(), "config");
    auto m = std::make_unique<anbn_model>();
    model_build(m.get(), cfg);
    model_init_params(m.get());
    *out = m.release();
    return ANBN_OK;
  });
}

void anbn_destroy(anbn_model *m) { destroy_handle(m); }

anbn_status anbn_model_get_info(const anbn_model *m, anbn_model_info *info) {
  return guard([&] {
    ANBN_CHECK_ARG(m && info, "model or info is NULL");
    ModelLock lock(m);
    anbn_model_info i{};
    i.struct_size = sizeof i;
    i.cell = m->shape.cell;
    i.language = m->cfg.language;
    i.alphabet = m->alphabet, i.vocab_size = m->shape.vocab, i.output_size = m->shape.output;
    i.hidden = m->shape.hidden, i.embed = m->shape.embed, i.layers = m->shape.layers;
    i.gates = m->shape.gates();
    i.num_params = m->num_params;
    i.epoch = m->epoch;
    i.adam_step = m->adam_step;  // no copy of the Adam moments to read a count
    i.backend = m->backend.c_str();
    i.backend_reason = m->backend_reason.c_str();
    i.has_cell_state = m->shape.def().cell_state ? 1 : 0;
    write_out(info, i, "info");
    return ANBN_OK;
  });
}

anbn_status anbn_model_get_config(const anbn_model *m, anbn_config *config) {
  return guard([&] {
    ANBN_CHECK_ARG(m && config, "model or config is NULL");
    ModelLock lock(m);  // set_training writes cfg: same handle rule as every other call
    write_out(config, m->cfg, "config");
    return ANBN_OK;
  });
}

anbn_status anbn_model_set_training(anbn_model *m, const anbn_config *c) {
  return guard([&] {
    ANBN_CHECK_ARG(m && c, "model or config is NULL");
    ModelLock lock(m);
    const anbn_config in = read_in(c, m->cfg, "config");  // fields an older caller lacks keep their values
    c = &in;
    check_training(*c);
    m->cfg.lr = c->lr, m->cfg.beta1 = c->beta1, m->cfg.beta2 = c->beta2, m->cfg.eps = c->eps;
    m->cfg.batch_size = c->batch_size, m->cfg.shuffle = c->shuffle, m->cfg.progress_every = c->progress_every;
    m->cfg.clip_norm = c->clip_norm;
    return ANBN_OK;
  });
}

anbn_status anbn_param_count(const anbn_model *m, size_t *count) {
  return guard([&] {
    ANBN_CHECK_ARG(m && count, "model or count is NULL");
    *count = m->params.size();
    return ANBN_OK;
  });
}

anbn_status anbn_param_info(const anbn_model *m, size_t index, const char **name, int32_t *ndim, int64_t shape[2],
                            size_t *numel) {
  return guard([&] {
    ANBN_CHECK_ARG(m, "model is NULL");
    ANBN_CHECK_ARG(index < m->params.size(), "index %zu is out of range (%zu tensors)", index, m->params.size());
    const ParamSpec &s = m->params[index];
    if (name) *name = s.name.c_str();
    if (ndim) *ndim = s.ndim;
    if (shape) shape[0] = s.shape[0], shape[1] = s.shape[1];
    if (numel) *numel = s.numel;
    return ANBN_OK;
  });
}

anbn_status anbn_param_get(const anbn_model *m, const char *name, float *out, size_t count) {
  return guard([&] {
    ANBN_CHECK_ARG(m && out, "model or out is NULL");
    ModelLock lock(m);
    const ParamSpec &s = find_param(m, name);
    ANBN_CHECK_ARG(count >= s.numel, "buffer holds %zu floats, '%s' has %zu", count, name, s.numel);
    const auto p = get_params(const_cast<anbn_model *>(m));
    std::memcpy(out, p.data() + s.offset, s.numel * sizeof(float));
    return ANBN_OK;
  });
}

anbn_status anbn_param_set(anbn_model *m, const char *name, const float *values, size_t count) {
  return guard([&] {
    ANBN_CHECK_ARG(m && values, "model or values is NULL");
    ModelLock lock(m);
    const ParamSpec &s = find_param(m, name);
    ANBN_CHECK_ARG(count == s.numel, "'%s' has %zu values, got %zu", name, s.numel, count);
    for (size_t i = 0; i < count; ++i)
      ANBN_CHECK_ARG(std::isfinite(values[i]), "value %zu of '%s' is not finite", i, name);
    auto p = get_params(m);
    std::memcpy(p.data() + s.offset, values, count * sizeof(float));
    ANBN_BE(m, set_params, p.data(), p.size());
    return ANBN_OK;
  });
}

}  // extern "C"
