// What every backend needs at its C boundary: a message into the caller's
// buffer, the parameter-count check, and the guard that turns exceptions
// into statuses (no exception may cross the plugin ABI).
#pragma once
#include <cstdio>
#include <exception>
#include <new>

#include "anbn/backend.h"

namespace anbn_plugin {

inline void set_err(char *err, size_t len, const char *msg) {
  if (err && len) std::snprintf(err, len, "%s", msg);
}

inline anbn_status check_count(size_t want, size_t got, char *err, size_t len) {
  if (want == got) return ANBN_OK;
  char msg[128];
  std::snprintf(msg, sizeof msg, "expected %zu parameters, got %zu", want, got);
  set_err(err, len, msg);
  return ANBN_ERR_INVALID_ARGUMENT;
}

struct WhatMessage {
  const char *operator()(const std::exception &e) const { return e.what(); }
};

// Runs f (returning anbn_status); bad_alloc becomes OUT_OF_MEMORY, any other
// exception BACKEND_FAILURE with message(e).
template <class F, class Message = WhatMessage>
anbn_status guard(char *err, size_t len, F &&f, Message message = {}) noexcept {
  try {
    return f();
  } catch (const std::bad_alloc &) {
    set_err(err, len, "out of memory");
    return ANBN_ERR_OUT_OF_MEMORY;
  } catch (const std::exception &e) {
    set_err(err, len, message(e));
    return ANBN_ERR_BACKEND_FAILURE;
  } catch (...) {
    set_err(err, len, "unknown exception");
    return ANBN_ERR_BACKEND_FAILURE;
  }
}

}  // namespace anbn_plugin

// ------------------------------------------------------------ the plugin kit

#include <cmath>
#include <cstring>
#include <vector>

#include "cell.hpp"

namespace anbn_plugin {

// Offsets of the flat parameters in canonical order (backend.h): embedding
// (V, E); per layer W_ih (G*H, in), W_hh (G*H, H), b_ih, b_hh (G*H) and the
// peephole weights (3, H) of a cell that has them; fc (O, H), (O).
struct Layout {
  struct Layer {
    size_t wih, whh, bih, bhh, pp;  // pp: where the peephole weights are (if any)
    int in;  // the layer's input width: E for layer 0, H above
  };
  size_t emb = 0, fcw = 0, fcb = 0, total = 0;
  std::vector<Layer> layers;

  Layout(const anbn_backend_desc &d, const anbn_cells::Def &cell) {
    const size_t G = size_t(cell.gates), H = size_t(d.hidden);
    size_t o = 0;
    emb = o, o += size_t(d.vocab) * size_t(d.embed);
    for (int l = 0; l < d.layers; ++l) {
      Layer ly;
      ly.in = l == 0 ? d.embed : d.hidden;
      ly.wih = o, o += G * H * size_t(ly.in);
      ly.whh = o, o += G * H * H;
      ly.bih = o, o += G * H;
      ly.bhh = o, o += G * H;
      ly.pp = o, o += size_t(cell.peephole) * H;
      layers.push_back(ly);
    }
    fcw = o, o += size_t(d.output) * H;
    fcb = o, o += size_t(d.output);
    total = o;
  }
};

// Adam's per-step constants, and its update of one element into nm, nv, np:
// written once, for one model and for a population's lanes alike.
struct AdamStep {
  double b1, b2, step_size, bc2_sqrt, eps;
  AdamStep(const anbn_adam_hparams &hp, int64_t t)
      : b1(hp.beta1), b2(hp.beta2), step_size(double(hp.lr) / (1.0 - std::pow(b1, double(t)))),
        bc2_sqrt(std::sqrt(1.0 - std::pow(b2, double(t)))), eps(hp.eps) {}
  // false if any of the new values is not finite
  bool element(float p, float m, float v, double g, float &nm, float &nv, float &np) const {
    nm = float(b1 * m + (1.0 - b1) * g);
    nv = float(b2 * v + (1.0 - b2) * g * g);
    const double denom = std::sqrt(double(nv)) / bc2_sqrt + eps;
    np = float(double(p) - step_size * double(nm) / denom);
    return std::isfinite(np) && std::isfinite(nm) && std::isfinite(nv);
  }
};

// clip_grad_norm_'s factor for a gradient of squared norm sq: at most 1.
inline double clip_coef(float clip_norm, double sq) { return double(clip_norm) / (std::sqrt(sq) + 1e-6); }

// One Adam step as torch.optim.Adam (no weight decay, amsgrad off), after
// torch.nn.utils.clip_grad_norm_ when hp.clip_norm > 0: double arithmetic,
// float storage.  Two phases: the new values are computed into nm/nv/np
// first and copied in place (primitives may hold pointers into p) only if
// all are finite; otherwise nothing changes and false is returned.  The
// gradient may be float or double; it is clipped in place.
template <class G>
bool adam_step(std::vector<float> &p, std::vector<float> &m, std::vector<float> &v, std::vector<G> &grad,
               int64_t &step, const anbn_adam_hparams &hp, std::vector<float> &nm, std::vector<float> &nv,
               std::vector<float> &np) {
  if (hp.clip_norm > 0.f) {  // coef = max / (norm + 1e-6), at most 1
    double sq = 0.0;
    for (G g : grad) sq += double(g) * double(g);
    const double coef = clip_coef(hp.clip_norm, sq);
    if (coef < 1.0)
      for (G &g : grad) g = G(double(g) * coef);
  }
  const int64_t t = step + 1;
  const AdamStep a(hp, t);
  const size_t n = p.size();
  nm.resize(n), nv.resize(n), np.resize(n);
  for (size_t i = 0; i < n; ++i)
    if (!a.element(p[i], m[i], v[i], double(grad[i]), nm[i], nv[i], np[i])) return false;
  std::memcpy(m.data(), nm.data(), n * sizeof(float));
  std::memcpy(v.data(), nv.data(), n * sizeof(float));
  std::memcpy(p.data(), np.data(), n * sizeof(float));
  step = t;
  return true;
}

}  // namespace anbn_plugin

// The one entry symbol of a plugin library: its backend tables in order.
#define ANBN_PLUGIN_ENTRY(...)                                                                     \
  extern "C" __attribute__((visibility("default"))) const anbn_backend_iface *anbn_backend_entry( \
      uint32_t index) {                                                                           \
    static const anbn_backend_iface *const tables[] = {__VA_ARGS__};                               \
    return index < sizeof tables / sizeof *tables ? tables[index] : nullptr;                        \
  }
