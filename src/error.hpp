// Errors: the thread-local last-error message and the guard that keeps C++
// exceptions from crossing the C ABI.
#pragma once
#include <cstdarg>
#include <new>
#include <stdexcept>
#include <string>

#include "anbn/anbn.h"

namespace anbn {

// Sets the thread's last error and returns `status`.
anbn_status fail(anbn_status status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void clear_error();

// Thrown inside the core; turned into a status by guard().
struct Error : std::runtime_error {
  anbn_status status;
  Error(anbn_status s, const std::string &m) : std::runtime_error(m), status(s) {}
};
[[noreturn]] void raise(anbn_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

template <class F>
anbn_status guard(F &&body) noexcept {
  try {
    clear_error();
    return body();
  } catch (const Error &e) {
    return fail(e.status, "%s", e.what());
  } catch (const std::bad_alloc &) {
    return fail(ANBN_ERR_OUT_OF_MEMORY, "out of memory");
  } catch (const std::exception &e) {
    return fail(ANBN_ERR_BACKEND_FAILURE, "internal error: %s", e.what());
  } catch (...) {
    return fail(ANBN_ERR_BACKEND_FAILURE, "internal error: unknown exception");
  }
}

#define ANBN_CHECK_ARG(cond, ...) \
  do {                            \
    if (!(cond)) ::anbn::raise(ANBN_ERR_INVALID_ARGUMENT, __VA_ARGS__); \
  } while (0)

}  // namespace anbn
