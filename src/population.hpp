// The population handle (population.cpp: training; population_eval.cpp:
// the members' scans, evaluation and generation in lanes).
#pragma once
#include <vector>

#include "model.hpp"

struct anbn_population {
  std::vector<anbn_model *> members;  // owned
  const anbn_backend_iface *be = nullptr;
  anbn_backend_ctx *lanes = nullptr;  // the backend's population context, or null
  mutable anbn::InUse use;

  ~anbn_population() {
    if (lanes) be->destroy(lanes);
    for (anbn_model *m : members) anbn_destroy(m);
  }
};

namespace anbn {

using PopLock = HandleLock<anbn_population>;

// Raises as a backend call does; for the population context.
inline void pop_call(const anbn_population *pop, anbn_status s, const char *what, const char *err) {
  if (s != ANBN_OK) raise(s, "backend '%s' %s: %s", pop->members[0]->backend.c_str(), what, err[0] ? err : anbn_status_string(s));
}

// Member b's parameters (and Adam state) into lane `lane` of the population context.
void load_lane(anbn_population *pop, size_t b, int32_t lane);

// The backend's pop_forward: lane b computed by the member in lane lanes[b].
inline void pop_forward(anbn_population *pop, const std::vector<int32_t> &lanes, const int32_t *x, size_t T,
                        const float *h0, const float *c0, const anbn_forward_out &out) {
  char err[512] = "";
  pop_call(pop, pop->be->pop_forward(pop->lanes, lanes.data(), int32_t(lanes.size()), x, int32_t(T), h0, c0, &out, err,
                                     sizeof err),
           "pop_forward", err);
}

}  // namespace anbn
