/* Corpus: the seed's distribution, bit-for-bit reproducibility, files. */
#include <math.h>
#include <unistd.h>

#include "anbn_test.h"

static int32_t n_of(const anbn_corpus *c, size_t i) {
  int32_t buf[4096];
  size_t len;
  assert_anbn_ok(anbn_corpus_get(c, i, buf, 4096, &len));
  int32_t n = 0;
  assert_anbn_ok(anbn_language_accepts(ANBN_LANG_ANBN, buf, len, &n));
  assert_true(n > 0);
  return n;
}

static void test_chi_square_seed_weights(void **state) {
  (void)state;
  anbn_corpus_config cfg;
  anbn_corpus_config_init(&cfg);
  cfg.count = 100000;
  cfg.seed = 12345;
  anbn_corpus *c = NULL;
  assert_anbn_ok(anbn_corpus_generate(&cfg, &c));
  size_t size;
  assert_anbn_ok(anbn_corpus_size(c, &size));
  assert_int_equal(size, 100000);
  double counts[10] = {0};
  for (size_t i = 0; i < size; ++i) counts[n_of(c, i) - 1] += 1;
  const double w[10] = {10, 6, 4, 3, 1, 1, 1, 1, 1, 1};
  double chi2 = 0;
  for (int k = 0; k < 10; ++k) {
    const double e = 100000.0 * w[k] / 29.0;
    chi2 += (counts[k] - e) * (counts[k] - e) / e;
  }
  /* 9 degrees of freedom: P(chi2 > 27.88) = 0.001 */
  print_message("chi-square over 100k draws: %.3f (9 dof, critical 27.88 at p = 0.001)\n", chi2);
  assert_true(chi2 < 27.88);
  anbn_corpus_destroy(c);
}

/* FNV-1a over every token of the seed corpus: pinned, so a change of the
 * generator or of the drawing rule on any platform fails here. */
static uint64_t corpus_hash(const anbn_corpus *c) {
  uint64_t h = 1469598103934665603ull;
  size_t size;
  assert_anbn_ok(anbn_corpus_size(c, &size));
  for (size_t i = 0; i < size; ++i) {
    int32_t buf[64];
    size_t len;
    assert_anbn_ok(anbn_corpus_get(c, i, buf, 64, &len));
    for (size_t j = 0; j < len; ++j) h = (h ^ (uint64_t)(uint32_t)buf[j]) * 1099511628211ull;
    h = (h ^ 0xffu) * 1099511628211ull;
  }
  return h;
}

static void test_seed_corpus_reproducible(void **state) {
  (void)state;
  anbn_corpus *t1, *v1, *t2, *v2, *t3, *v3;
  assert_anbn_ok(anbn_corpus_seed(ANBN_LANG_ANBN, 1, &t1, &v1));
  assert_anbn_ok(anbn_corpus_seed(ANBN_LANG_ANBN, 1, &t2, &v2));
  assert_anbn_ok(anbn_corpus_seed(ANBN_LANG_ANBN, 2, &t3, &v3));
  assert_int_equal(corpus_hash(t1), corpus_hash(t2));
  assert_int_equal(corpus_hash(v1), corpus_hash(v2));
  assert_true(corpus_hash(t1) != corpus_hash(t3));
  print_message("seed corpus 1: train %016llx valid %016llx\n", (unsigned long long)corpus_hash(t1),
                (unsigned long long)corpus_hash(v1));
  assert_int_equal(corpus_hash(t1), 0x89dca64486c09f8bull);
  assert_int_equal(corpus_hash(v1), 0x55843130e07a5639ull);
  size_t nt, nv;
  assert_anbn_ok(anbn_corpus_size(t1, &nt));
  assert_anbn_ok(anbn_corpus_size(v1, &nv));
  assert_int_equal(nt, 2000);
  assert_int_equal(nv, 202);
  int n11 = 0, n12 = 0;
  for (size_t i = 0; i < nv; ++i) {
    int32_t n = n_of(v1, i);
    n11 += n == 11, n12 += n == 12;
    assert_true(n <= 12);
  }
  assert_int_equal(n11, 1);
  assert_int_equal(n12, 1);
  for (size_t i = 0; i < nt; ++i) assert_true(n_of(t1, i) <= 10);
  anbn_corpus_destroy(t1), anbn_corpus_destroy(v1), anbn_corpus_destroy(t2);
  anbn_corpus_destroy(v2), anbn_corpus_destroy(t3), anbn_corpus_destroy(v3);
}

static void test_generate_bad_config(void **state) {
  (void)state;
  anbn_corpus_config cfg;
  anbn_corpus *c = NULL;
  anbn_corpus_config_init(&cfg), cfg.min_n = 0;
  assert_anbn_status(anbn_corpus_generate(&cfg, &c), ANBN_ERR_INVALID_ARGUMENT);
  anbn_corpus_config_init(&cfg), cfg.max_n = 0;
  assert_anbn_status(anbn_corpus_generate(&cfg, &c), ANBN_ERR_INVALID_ARGUMENT);
  uint32_t w[3] = {0, 0, 0};
  anbn_corpus_config_init(&cfg), cfg.max_n = 3, cfg.weights = w, cfg.num_weights = 3;
  assert_anbn_status(anbn_corpus_generate(&cfg, &c), ANBN_ERR_INVALID_ARGUMENT);
  cfg.num_weights = 2;
  assert_anbn_status(anbn_corpus_generate(&cfg, &c), ANBN_ERR_INVALID_ARGUMENT);
  anbn_corpus_config_init(&cfg), cfg.struct_size = 4;
  assert_anbn_status(anbn_corpus_generate(&cfg, &c), ANBN_ERR_INVALID_ARGUMENT);
  assert_null(c);
  /* custom weights: only n = 2 */
  uint32_t only2[3] = {0, 1, 0};
  anbn_corpus_config_init(&cfg), cfg.max_n = 3, cfg.weights = only2, cfg.num_weights = 3, cfg.count = 50;
  cfg.language = ANBN_LANG_ANBNCN;
  assert_anbn_ok(anbn_corpus_generate(&cfg, &c));
  int32_t buf[16];
  size_t len;
  for (size_t i = 0; i < 50; ++i) {
    assert_anbn_ok(anbn_corpus_get(c, i, buf, 16, &len));
    assert_int_equal(len, 2 + 3 * 2);
  }
  assert_anbn_status(anbn_corpus_get(c, 0, buf, 3, &len), ANBN_ERR_INVALID_ARGUMENT);
  assert_int_equal(len, 8);
  assert_anbn_ok(anbn_corpus_get(c, 0, NULL, 0, &len)); /* length query */
  assert_anbn_status(anbn_corpus_get(c, 50, buf, 16, &len), ANBN_ERR_INVALID_ARGUMENT);
  int32_t k;
  assert_anbn_ok(anbn_corpus_alphabet(c, &k));
  assert_int_equal(k, 3);
  anbn_corpus_destroy(c);
}

static void test_from_tokens(void **state) {
  (void)state;
  const int32_t toks[] = {3, 0, 1, 2, 3, 0, 0, 1, 1, 2};
  const size_t lens[] = {4, 6};
  anbn_corpus *c = NULL;
  assert_anbn_ok(anbn_corpus_from_tokens(2, toks, lens, 2, &c));
  size_t n;
  assert_anbn_ok(anbn_corpus_size(c, &n));
  assert_int_equal(n, 2);
  anbn_corpus_destroy(c);
  c = NULL;
  const int32_t bad[] = {3, 0, 5, 2};
  const size_t l4[] = {4};
  assert_anbn_status(anbn_corpus_from_tokens(2, bad, l4, 1, &c), ANBN_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(anbn_last_error(), "token 5"));
  const int32_t nostart[] = {0, 1, 2, 2};
  assert_anbn_status(anbn_corpus_from_tokens(2, nostart, l4, 1, &c), ANBN_ERR_INVALID_ARGUMENT);
  const size_t l1[] = {1};
  assert_anbn_status(anbn_corpus_from_tokens(2, toks, l1, 1, &c), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_corpus_from_tokens(0, toks, lens, 2, &c), ANBN_ERR_INVALID_ARGUMENT);
  assert_null(c);
}

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void test_files(void **state) {
  (void)state;
  char dir[] = "/tmp/anbn-corpus-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[256], path2[256];
  snprintf(path, sizeof path, "%s/c.txt", dir);
  snprintf(path2, sizeof path2, "%s/d.txt", dir);
  anbn_corpus *t, *v, *back = NULL;
  assert_anbn_ok(anbn_corpus_seed(ANBN_LANG_ANBN, 3, &t, &v));
  assert_anbn_ok(anbn_corpus_save(v, path));
  assert_anbn_ok(anbn_corpus_load(path, 2, &back));
  assert_int_equal(corpus_hash(v), corpus_hash(back));
  anbn_corpus_destroy(back);
  back = NULL;
  write_text(path2, "# comment\n3 0 0 1 1 2\n\n3 0 1 2\n");
  assert_anbn_ok(anbn_corpus_load(path2, 2, &back));
  size_t n;
  assert_anbn_ok(anbn_corpus_size(back, &n));
  assert_int_equal(n, 2);
  anbn_corpus_destroy(back);
  back = NULL;
  write_text(path2, "3 0 1 2\n3 0 x 2\n");
  assert_anbn_status(anbn_corpus_load(path2, 2, &back), ANBN_ERR_FORMAT);
  assert_non_null(strstr(anbn_last_error(), ":2:"));
  write_text(path2, "3 0 1 2\n3 0 1 2\n3 0 9 2\n");
  assert_anbn_status(anbn_corpus_load(path2, 2, &back), ANBN_ERR_FORMAT);
  assert_non_null(strstr(anbn_last_error(), ":3:"));
  assert_non_null(strstr(anbn_last_error(), "token 9"));
  write_text(path2, "0 1 2\n");
  assert_anbn_status(anbn_corpus_load(path2, 2, &back), ANBN_ERR_FORMAT);
  write_text(path2, "3 99999999999999999999 2\n");
  assert_anbn_status(anbn_corpus_load(path2, 2, &back), ANBN_ERR_FORMAT);
  assert_anbn_status(anbn_corpus_load("/nonexistent/dir/c.txt", 2, &back), ANBN_ERR_IO);
  assert_anbn_status(anbn_corpus_save(v, "/nonexistent/dir/c.txt"), ANBN_ERR_IO);
  assert_null(back);
  unlink(path), unlink(path2), rmdir(dir);
  anbn_corpus_destroy(t), anbn_corpus_destroy(v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_chi_square_seed_weights),
      cmocka_unit_test(test_seed_corpus_reproducible),
      cmocka_unit_test(test_generate_bad_config),
      cmocka_unit_test(test_from_tokens),
      cmocka_unit_test(test_files),
  };
  return cmocka_run_group_tests_name("corpus", tests, NULL, NULL);
}
