#include "error.hpp"

#include <cstdio>

namespace anbn {
namespace {
thread_local std::string g_last_error;

std::string vformat(const char *fmt, va_list ap) {
  char buf[1024];
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  return buf;
}
}  // namespace

anbn_status fail(anbn_status status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  try {
    g_last_error = vformat(fmt, ap);
  } catch (...) {
  }
  va_end(ap);
  return status;
}

void clear_error() { g_last_error.clear(); }

void raise(anbn_status status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::string msg = vformat(fmt, ap);
  va_end(ap);
  throw Error(status, msg);
}

}  // namespace anbn

extern "C" {

const char *anbn_last_error(void) { return anbn::g_last_error.c_str(); }

const char *anbn_status_string(anbn_status status) {
  switch (status) {
    case ANBN_OK: return "ANBN_OK";
    case ANBN_ERR_INVALID_ARGUMENT: return "ANBN_ERR_INVALID_ARGUMENT";
    case ANBN_ERR_BACKEND_UNAVAILABLE: return "ANBN_ERR_BACKEND_UNAVAILABLE";
    case ANBN_ERR_BACKEND_FAILURE: return "ANBN_ERR_BACKEND_FAILURE";
    case ANBN_ERR_IO: return "ANBN_ERR_IO";
    case ANBN_ERR_FORMAT: return "ANBN_ERR_FORMAT";
    case ANBN_ERR_OUT_OF_MEMORY: return "ANBN_ERR_OUT_OF_MEMORY";
    case ANBN_ERR_NUMERIC: return "ANBN_ERR_NUMERIC";
    case ANBN_ERR_BUSY: return "ANBN_ERR_BUSY";
    case ANBN_ERR_CANCELLED: return "ANBN_ERR_CANCELLED";
    default: break;
  }
  return "ANBN_ERR_UNKNOWN";
}

const char *anbn_version(void) { return ANBN_VERSION_STRING; }
uint32_t anbn_version_number(void) { return ANBN_VERSION_NUMBER; }

}  // extern "C"
