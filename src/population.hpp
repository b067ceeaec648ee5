// The population handle (population.cpp: training; population_eval.cpp:
// capacity scans of the members in lanes).
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

}  // namespace anbn
