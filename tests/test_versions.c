/* Versioned structs: callers compiled against 0.1 and 0.2 are served, the
 * library reads and writes only the caller's struct_size bytes, and every
 * *_init knows the caller's size.  The layouts below are copied from the
 * released headers. */
#include "anbn_test.h"

/* anbn_config as 0.1 declared it: no clip_norm (80 bytes). */
typedef struct config_v01 {
  size_t struct_size;
  const char *backend;
  anbn_cell cell;
  anbn_language language;
  int32_t hidden, embed, layers;
  uint64_t seed;
  float lr, beta1, beta2, eps;
  int32_t batch_size, shuffle, threads, progress_every;
} config_v01;

/* A 0.1 struct followed by bytes the library must never touch. */
typedef struct {
  config_v01 c;
  unsigned char guard[32];
} guarded_v01;

static void assert_guard(const unsigned char *g, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (g[i] != 0xA5) fail_msg("byte %zu past the caller's struct was written", i);
}

static void test_config_from_a_01_caller(void **state) {
  (void)state;
  assert_int_equal(sizeof(config_v01), 80);
  guarded_v01 g;
  memset(&g, 0xA5, sizeof g);
  anbn_config_init_v2((anbn_config *)&g.c, sizeof g.c); /* as the 0.1 macro-less caller's init would be */
  assert_int_equal(g.c.struct_size, 80);
  assert_guard(g.guard, sizeof g.guard);
  g.c.backend = "ref";
  g.c.cell = ANBN_CELL_LSTM;
  anbn_model *m;
  assert_anbn_ok(anbn_create((const anbn_config *)&g.c, &m));
  anbn_config now;
  assert_anbn_ok(anbn_model_get_config(m, &now));
  assert_true(now.clip_norm == 0.f); /* the field 0.1 lacked: its default */
  assert_int_equal(now.cell, ANBN_CELL_LSTM);
  /* set_training from a 0.1 struct keeps what it cannot see */
  now.clip_norm = 2.5f;
  assert_anbn_ok(anbn_model_set_training(m, &now));
  memset(&g, 0xA5, sizeof g);
  g.c.struct_size = sizeof g.c;
  assert_anbn_ok(anbn_model_get_config(m, (anbn_config *)&g.c)); /* writes 80 bytes, not 88 */
  assert_guard(g.guard, sizeof g.guard);
  assert_int_equal(g.c.struct_size, 80);
  g.c.lr = 5e-3f;
  assert_anbn_ok(anbn_model_set_training(m, (const anbn_config *)&g.c));
  assert_anbn_ok(anbn_model_get_config(m, &now));
  assert_true(now.lr == 5e-3f && now.clip_norm == 2.5f);
  anbn_destroy(m);
}

static void test_too_small_input_is_refused(void **state) {
  (void)state;
  anbn_config c;
  anbn_config_init(&c);
  c.struct_size = 40;
  anbn_model *m = NULL;
  assert_anbn_status(anbn_create(&c, &m), ANBN_ERR_INVALID_ARGUMENT);
  anbn_generate_config g;
  anbn_generate_config_init(&g);
  g.struct_size = 8;
  anbn_corpus *out = NULL;
  m = test_model(ANBN_CELL_RNN_TANH, 2, 1, 1);
  assert_anbn_status(anbn_generate(m, &g, &out, NULL), ANBN_ERR_INVALID_ARGUMENT);
  anbn_probe_buffers b;
  anbn_probe_buffers_init(&b);
  b.struct_size = 0;
  const int32_t seq[] = {3, 0};
  assert_anbn_status(anbn_probe(m, seq, 2, &b), ANBN_ERR_INVALID_ARGUMENT);
  anbn_corpus_config cc;
  anbn_corpus_config_init(&cc);
  cc.struct_size = 16;
  assert_anbn_status(anbn_corpus_generate(&cc, &out), ANBN_ERR_INVALID_ARGUMENT);
  anbn_destroy(m);
}

/* The *_init calls: the macro passes sizeof; _v2 with a smaller size writes
 * no more; the plain symbol (what 0.2 binaries call) fills the 0.2 layout. */
static void test_inits_know_the_callers_size(void **state) {
  (void)state;
  unsigned char buf[256];
  memset(buf, 0xA5, sizeof buf);
  anbn_config_init_v2((anbn_config *)buf, 80);
  assert_guard(buf + 80, sizeof buf - 80);
  memset(buf, 0xA5, sizeof buf);
  (anbn_config_init)((anbn_config *)buf);
  assert_int_equal(((anbn_config *)buf)->struct_size, 88);
  assert_guard(buf + 88, sizeof buf - 88);
  memset(buf, 0xA5, sizeof buf);
  anbn_generate_config_init_v2((anbn_generate_config *)buf, 24);
  assert_guard(buf + 24, sizeof buf - 24);
  memset(buf, 0xA5, sizeof buf);
  anbn_corpus_config_init_v2((anbn_corpus_config *)buf, 4); /* not even a struct_size: nothing written */
  assert_guard(buf, sizeof buf);
  anbn_probe_buffers b;
  anbn_probe_buffers_init(&b);
  assert_int_equal(b.struct_size, sizeof b);
  /* a 0.2 caller's probe buffers (72 bytes, no argmax): accepted, and the
   * bytes past them never read */
  memset(buf, 0xA5, sizeof buf);
  anbn_probe_buffers *old = (anbn_probe_buffers *)buf;
  anbn_probe_buffers_init_v2(old, 72);
  assert_int_equal(old->struct_size, 72);
  assert_guard(buf + 72, sizeof buf - 72);
  float lp[2 * 3];
  old->log_probs = lp, old->log_probs_count = 6;
  anbn_model *m = test_model(ANBN_CELL_RNN_TANH, 2, 1, 1);
  const int32_t seq[] = {3, 0};
  assert_anbn_ok(anbn_probe(m, seq, 2, old));
  anbn_destroy(m);
}

/* Outputs: the caller's struct_size bytes; unset (0.2 callers) = 0.2 layout. */
static void test_outputs(void **state) {
  (void)state;
  anbn_model *m = test_model(ANBN_CELL_GRU, 3, 1, 1);
  struct {
    anbn_model_info i;
    unsigned char guard[16];
  } g;
  memset(&g, 0xA5, sizeof g);
  g.i.struct_size = 0; /* a 0.2 caller: its struct ended before backend_reason (new in 0.3) */
  assert_anbn_ok(anbn_model_get_info(m, &g.i));
  assert_int_equal(g.i.struct_size, offsetof(anbn_model_info, backend_reason));
  assert_int_equal(g.i.hidden, 3);
  assert_guard((const unsigned char *)&g.i.backend_reason, sizeof g.i.backend_reason); /* not written */
  assert_guard(g.guard, sizeof g.guard);
  memset(&g, 0xA5, sizeof g); /* a caller built before has_cell_state: backend_reason, nothing past it */
  g.i.struct_size = offsetof(anbn_model_info, has_cell_state);
  assert_anbn_ok(anbn_model_get_info(m, &g.i));
  assert_int_equal(g.i.struct_size, offsetof(anbn_model_info, has_cell_state));
  assert_non_null(strstr(g.i.backend_reason, "asked for"));
  assert_guard((const unsigned char *)&g.i.has_cell_state, sizeof g.i - offsetof(anbn_model_info, has_cell_state));
  g.i.struct_size = sizeof g.i; /* a 0.3 caller gets the new field */
  assert_anbn_ok(anbn_model_get_info(m, &g.i));
  assert_int_equal(g.i.struct_size, sizeof g.i);
  assert_non_null(strstr(g.i.backend_reason, "asked for"));
  assert_guard(g.guard, sizeof g.guard);
  anbn_backend_info_v2 bi = {.struct_size = sizeof bi};
  assert_anbn_ok(anbn_backend_find_v2("ref", &bi));
  assert_string_equal(bi.name, "ref");
  assert_int_equal(bi.available, 1);
  assert_anbn_ok(anbn_backend_get_v2(0, &bi));
  bi.struct_size = 3;
  assert_anbn_status(anbn_backend_find_v2("ref", &bi), ANBN_ERR_INVALID_ARGUMENT);
  anbn_destroy(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_config_from_a_01_caller),
      cmocka_unit_test(test_too_small_input_is_refused),
      cmocka_unit_test(test_inits_know_the_callers_size),
      cmocka_unit_test(test_outputs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
