/* Shared by the cmocka tests: the domain assertion and small fixtures. */
#ifndef ANBN_TEST_H
#define ANBN_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "anbn/anbn.h"

/* Fails with the status name and anbn_last_error() when rc is not ANBN_OK. */
#define assert_anbn_ok(expr)                                                        \
  do {                                                                              \
    anbn_status rc_ = (expr);                                                       \
    if (rc_ != ANBN_OK)                                                             \
      fail_msg("%s -> %s: %s", #expr, anbn_status_string(rc_), anbn_last_error()); \
  } while (0)

/* Asserts a specific status and that a message was left for it. */
#define assert_anbn_status(expr, want)                                                     \
  do {                                                                                     \
    anbn_status rc_ = (expr);                                                              \
    if (rc_ != (want))                                                                     \
      fail_msg("%s -> %s, expected %s (%s)", #expr, anbn_status_string(rc_),               \
               anbn_status_string(want), anbn_last_error());                               \
    if ((want) != ANBN_OK && anbn_last_error()[0] == '\0') fail_msg("%s left no message", #expr); \
  } while (0)

static inline anbn_model *test_model(anbn_cell cell, int32_t hidden, int32_t layers, uint64_t seed) {
  anbn_config cfg;
  anbn_config_init(&cfg);
  cfg.backend = "ref";
  cfg.cell = cell;
  cfg.hidden = hidden;
  cfg.layers = layers;
  cfg.seed = seed;
  anbn_model *m = NULL;
  anbn_status rc = anbn_create(&cfg, &m);
  if (rc != ANBN_OK) fail_msg("anbn_create: %s: %s", anbn_status_string(rc), anbn_last_error());
  return m;
}

/* All parameters, flat in canonical order; caller frees. */
static inline float *test_params(anbn_model *m, size_t *n_out) {
  size_t count = 0, total = 0, numel;
  assert_anbn_ok(anbn_param_count(m, &count));
  for (size_t i = 0; i < count; ++i) {
    assert_anbn_ok(anbn_param_info(m, i, NULL, NULL, NULL, &numel));
    total += numel;
  }
  float *p = malloc(total * sizeof *p);
  size_t off = 0;
  for (size_t i = 0; i < count; ++i) {
    const char *name;
    assert_anbn_ok(anbn_param_info(m, i, &name, NULL, NULL, &numel));
    assert_anbn_ok(anbn_param_get(m, name, p + off, numel));
    off += numel;
  }
  *n_out = total;
  return p;
}

/* A whole file read into a malloc'd, NUL-terminated buffer (caller frees), and written. */
static inline char *test_read_file(const char *path, size_t *size) {
  FILE *fp = fopen(path, "rb");
  assert_non_null(fp);
  fseek(fp, 0, SEEK_END);
  *size = (size_t)ftell(fp);
  fseek(fp, 0, SEEK_SET);
  char *buf = malloc(*size + 1);
  assert_int_equal(fread(buf, 1, *size, fp), *size);
  buf[*size] = 0;
  fclose(fp);
  return buf;
}

static inline void test_write_file(const char *path, const void *data, size_t size) {
  FILE *fp = fopen(path, "wb");
  assert_non_null(fp);
  assert_int_equal(fwrite(data, 1, size, fp), size);
  fclose(fp);
}

static inline double max_abs_diff(const float *a, const float *b, size_t n) {
  double w = 0;
  for (size_t i = 0; i < n; ++i) {
    double d = (double)a[i] - (double)b[i];
    if (d < 0) d = -d;
    if (d > w || d != d) w = d;
  }
  return w;
}

#endif
