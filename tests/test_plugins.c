/* The plugin loader: found, refused with a reason (ABI mismatch, no entry
 * symbol, no device, not found), and a working plugin that agrees with the
 * built-in ref bit for bit.  Run with ANBN_BACKEND_PATH = the test plugins. */
#include "anbn_test.h"

static void expect_unavailable(const char *backend, const char *reason_part) {
  anbn_backend_info b;
  assert_anbn_ok(anbn_backend_find(backend, &b));
  assert_false(b.available);
  if (!strstr(b.reason, reason_part)) fail_msg("%s: reason '%s' lacks '%s'", backend, b.reason, reason_part);
  anbn_config c;
  anbn_config_init(&c);
  c.backend = backend;
  anbn_model *m = NULL;
  assert_anbn_status(anbn_create(&c, &m), ANBN_ERR_BACKEND_UNAVAILABLE);
  if (!strstr(anbn_last_error(), reason_part)) fail_msg("%s: error '%s' lacks '%s'", backend, anbn_last_error(), reason_part);
  print_message("%-10s refused: %s\n", backend, anbn_last_error());
  assert_null(m);
}

static void test_refused_plugins(void **state) {
  (void)state;
  expect_unavailable("badabi", "ABI mismatch");
  expect_unavailable("noentry", "anbn_backend_entry");
  expect_unavailable("nodevice", "no CUDA device");
  anbn_backend_info b;
  assert_anbn_ok(anbn_backend_find("onednn", &b));
  if (!b.available) expect_unavailable("onednn", "not found");
  anbn_config c;
  anbn_config_init(&c);
  c.backend = "never-heard-of";
  anbn_model *m = NULL;
  assert_anbn_status(anbn_create(&c, &m), ANBN_ERR_BACKEND_UNAVAILABLE);
  assert_non_null(strstr(anbn_last_error(), "not found"));
}

static void test_listing(void **state) {
  (void)state;
  size_t n;
  assert_anbn_ok(anbn_backend_count(&n));
  int seen = 0;
  for (size_t i = 0; i < n; ++i) {
    anbn_backend_info b;
    assert_anbn_ok(anbn_backend_get(i, &b));
    print_message("  %-10s %s %s\n", b.name, b.available ? "yes" : "no ", b.available ? b.path : b.reason);
    if (!strcmp(b.name, "refplug")) seen |= 1, assert_true(b.available), assert_non_null(strstr(b.path, "libanbn-refplug.so"));
    if (!strcmp(b.name, "badabi")) seen |= 2;
    if (!strcmp(b.name, "nodevice")) seen |= 4;
  }
  assert_int_equal(seen, 7);
  assert_anbn_ok(anbn_backend_rescan());
  size_t n2;
  assert_anbn_ok(anbn_backend_count(&n2));
  assert_int_equal(n, n2);
}

static void test_plugin_matches_builtin_ref(void **state) {
  (void)state;
  anbn_corpus *t, *v;
  assert_anbn_ok(anbn_corpus_seed(ANBN_LANG_ANBN, 1, &t, &v));
  anbn_config c;
  anbn_config_init(&c);
  c.cell = ANBN_CELL_LSTM;
  anbn_model *a, *b;
  c.backend = "ref";
  assert_anbn_ok(anbn_create(&c, &a));
  c.backend = "refplug";
  assert_anbn_ok(anbn_create(&c, &b));
  anbn_model_info info;
  assert_anbn_ok(anbn_model_get_info(b, &info));
  assert_string_equal(info.backend, "refplug");
  anbn_epoch_stats sa = {.struct_size = sizeof sa}, sb = {.struct_size = sizeof sb};
  assert_anbn_ok(anbn_train_epoch(a, t, NULL, NULL, &sa));
  assert_anbn_ok(anbn_train_epoch(b, t, NULL, NULL, &sb));
  size_t n;
  float *pa = test_params(a, &n), *pb = test_params(b, &n);
  print_message("ref vs refplug after one epoch: max |diff| %.3g, loss %.6f vs %.6f\n", max_abs_diff(pa, pb, n),
                sa.mean_loss, sb.mean_loss);
  assert_memory_equal(pa, pb, n * sizeof(float));
  free(pa), free(pb);
  anbn_destroy(a), anbn_destroy(b);
  anbn_corpus_destroy(t), anbn_corpus_destroy(v);
}

/* A table shorter than today's: its optional methods past struct_size are
 * absent (the loader never calls the garbage pointer after it). */
static void test_short_table(void **state) {
  (void)state;
  anbn_config c;
  anbn_config_init(&c);
  c.backend = "shorttable";
  anbn_model *m;
  assert_anbn_ok(anbn_create(&c, &m));
  anbn_corpus *t, *v;
  assert_anbn_ok(anbn_corpus_seed(ANBN_LANG_ANBN, 1, &t, &v));
  assert_anbn_ok(anbn_train_epoch(m, t, NULL, NULL, NULL));
  const int32_t seq[] = {3, 0, 1, 2};
  double loss;
  assert_anbn_status(anbn_gradients(m, seq, 4, NULL, 0, &loss), ANBN_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(anbn_last_error(), "does not provide gradients"));
  anbn_destroy(m);
  anbn_corpus_destroy(t), anbn_corpus_destroy(v);
}

int main(void) {
  if (!getenv("ANBN_BACKEND_PATH")) {
    fprintf(stderr, "test_plugins: set ANBN_BACKEND_PATH to the test plugin directory (ctest does)\n");
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_refused_plugins),
      cmocka_unit_test(test_listing),
      cmocka_unit_test(test_plugin_matches_builtin_ref),
      cmocka_unit_test(test_short_table),
  };
  return cmocka_run_group_tests_name("plugins", tests, NULL, NULL);
}
