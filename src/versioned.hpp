// Versioned structs (DESIGN.md §5): a caller's struct_size may be that of any
// release; the library reads and writes only that many bytes.  A field the
// caller's release did not have keeps its default (inputs) or is not written
// (outputs).
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstring>

#include "anbn/anbn.h"
#include "error.hpp"

namespace anbn {

// Sizes at the first release (0.1): the smallest struct_size accepted (and,
// for an output, the smallest taken as set rather than left uninitialised).
// A struct that grows gets its own line here, so its first size stays put.
template <class T> struct FirstSize { static constexpr size_t value = sizeof(T); };
template <> struct FirstSize<anbn_config> { static constexpr size_t value = offsetof(anbn_config, clip_norm); };
template <> struct FirstSize<anbn_model_info> { static constexpr size_t value = offsetof(anbn_model_info, backend_reason); };
template <> struct FirstSize<anbn_backend_info_v2> { static constexpr size_t value = offsetof(anbn_backend_info_v2, population); };
template <> struct FirstSize<anbn_probe_buffers> { static constexpr size_t value = offsetof(anbn_probe_buffers, argmax); };

// Sizes as 0.2 laid them out: what the *_init calls without a size fill, and
// what an output struct without a valid struct_size receives.
template <class T> struct Size02 { static constexpr size_t value = sizeof(T); };
template <> struct Size02<anbn_backend_info_v2> { static constexpr size_t value = 0; };  // new in 0.3
template <> struct Size02<anbn_model_info> { static constexpr size_t value = offsetof(anbn_model_info, backend_reason); };
template <> struct Size02<anbn_probe_buffers> { static constexpr size_t value = offsetof(anbn_probe_buffers, argmax); };
static_assert(sizeof(anbn_config) == 88 && sizeof(anbn_model_info) == 96 && sizeof(anbn_epoch_stats) == 48 &&
                  sizeof(anbn_eval_stats) == 64 && sizeof(anbn_probe_buffers) == 104 &&
                  sizeof(anbn_capacity_result) == 24 && sizeof(anbn_generate_config) == 40 &&
                  sizeof(anbn_corpus_config) == 80,
              "a public struct grew: give its Size02 its 0.2 size and document the new fields' defaults");

// The bytes of the caller's struct this release uses.  Inputs: struct_size
// must be at least the first release's (else INVALID_ARGUMENT).  Outputs were
// not versioned in 0.2 (callers passed them uninitialised), so a struct_size
// below the first release's means "the 0.2 layout"; never more than we have.
template <class T>
size_t caller_size(const T *s, const char *what, bool output) {
  ANBN_CHECK_ARG(s, "%s is NULL", what);
  const size_t n = s->struct_size;
  if (output && (n >= FirstSize<T>::value || Size02<T>::value))
    return n < FirstSize<T>::value ? Size02<T>::value : std::min(n, sizeof(T));
  ANBN_CHECK_ARG(n >= FirstSize<T>::value, "%s.struct_size %zu is smaller than any release's (%zu): fill it with its *_init",
                 what, n, FirstSize<T>::value);
  return std::min(n, sizeof(T));
}

// An input struct over `base` (the defaults, or the current values).
template <class T>
T read_in(const T *in, T base, const char *what) {
  const size_t n = caller_size(in, what, false);
  std::memcpy(static_cast<void *>(&base), in, n);
  base.struct_size = sizeof(T);
  return base;
}

// Writes `value` into the caller's output struct, no more bytes than it has.
template <class T>
void write_out(T *out, T value, const char *what) {
  const size_t n = caller_size(out, what, true);
  value.struct_size = n;
  std::memcpy(static_cast<void *>(out), &value, n);
}

// *_init_v2: the defaults, no more bytes than the caller's struct has.
template <class T>
void init_sized(T *out, const T &defaults, size_t size) {
  if (!out || size < sizeof(size_t)) return;
  T v = defaults;
  v.struct_size = std::min(size, sizeof(T));
  std::memcpy(static_cast<void *>(out), &v, v.struct_size);
}

}  // namespace anbn
