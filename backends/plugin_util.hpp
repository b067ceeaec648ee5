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
