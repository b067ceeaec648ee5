/* Cross-cutting failure behaviour: thread-local messages, busy models,
 * non-finite training that changes nothing. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "anbn_test.h"

static void *fail_in_thread(void *arg) {
  (void)arg;
  anbn_cell c;
  anbn_cell_from_name("thread-local-check", &c);
  return strstr(anbn_last_error(), "thread-local-check") ? (void *)1 : NULL;
}

static void test_last_error_is_per_thread(void **state) {
  (void)state;
  anbn_cell c;
  assert_anbn_status(anbn_cell_from_name("main-thread", &c), ANBN_ERR_INVALID_ARGUMENT);
  pthread_t t;
  void *ok = NULL;
  pthread_create(&t, NULL, fail_in_thread, NULL);
  pthread_join(t, &ok);
  assert_non_null(ok);
  assert_non_null(strstr(anbn_last_error(), "main-thread")); /* not overwritten by the other thread */
}

typedef struct {
  anbn_model *model;
  anbn_corpus *corpus;
  anbn_status inner;
  int calls;
} reentry;

static int reenter(void *user, const anbn_progress *p) {
  (void)p;
  reentry *r = user;
  if (r->calls++ == 0) {
    anbn_eval_stats e;
    r->inner = anbn_evaluate(r->model, r->corpus, &e);
  }
  return 0;
}

static void test_reentrant_call_is_busy(void **state) {
  (void)state;
  anbn_model *m = test_model(ANBN_CELL_RNN_TANH, 2, 1, 1);
  anbn_corpus *t, *v;
  assert_anbn_ok(anbn_corpus_seed(ANBN_LANG_ANBN, 1, &t, &v));
  reentry r = {m, v, ANBN_OK, 0};
  assert_anbn_ok(anbn_train_epoch(m, t, reenter, &r, NULL));
  assert_int_equal(r.inner, ANBN_ERR_BUSY);
  anbn_corpus_destroy(t);
  anbn_corpus_destroy(v);
  anbn_destroy(m);
}

typedef struct {
  anbn_model *model;
  anbn_corpus *corpus;
  atomic_int training, tried;
  anbn_status other;
} two_threads;

static int wait_for_other(void *user, const anbn_progress *p) {
  (void)p;
  two_threads *s = user;
  atomic_store(&s->training, 1);
  while (!atomic_load(&s->tried)) usleep(1000);
  return 0;
}

static void *other_thread(void *arg) {
  two_threads *s = arg;
  while (!atomic_load(&s->training)) usleep(1000);
  anbn_eval_stats e;
  s->other = anbn_evaluate(s->model, s->corpus, &e);
  atomic_store(&s->tried, 1);
  return NULL;
}

static void test_second_thread_gets_busy(void **state) {
  (void)state;
  two_threads s;
  memset(&s, 0, sizeof s);
  s.model = test_model(ANBN_CELL_GRU, 2, 1, 1);
  anbn_corpus *v;
  assert_anbn_ok(anbn_corpus_seed(ANBN_LANG_ANBN, 1, &s.corpus, &v));
  pthread_t t;
  pthread_create(&t, NULL, other_thread, &s);
  assert_anbn_ok(anbn_train_epoch(s.model, s.corpus, wait_for_other, &s, NULL));
  pthread_join(t, NULL);
  assert_int_equal(s.other, ANBN_ERR_BUSY);
  /* once free, the model is usable from any thread */
  anbn_eval_stats e;
  assert_anbn_ok(anbn_evaluate(s.model, v, &e));
  anbn_corpus_destroy(s.corpus);
  anbn_corpus_destroy(v);
  anbn_destroy(s.model);
}

static void test_non_finite_training_changes_nothing(void **state) {
  (void)state;
  anbn_model *m = test_model(ANBN_CELL_LSTM, 2, 1, 1);
  anbn_corpus *t, *v;
  assert_anbn_ok(anbn_corpus_seed(ANBN_LANG_ANBN, 1, &t, &v));
  assert_anbn_ok(anbn_train_epoch(m, t, NULL, NULL, NULL));
  size_t n;
  float *before = test_params(m, &n);
  anbn_model_info i0, i1;
  assert_anbn_ok(anbn_model_get_info(m, &i0));
  anbn_config c = {.struct_size = sizeof c}; /* an output: its size set */
  assert_anbn_ok(anbn_model_get_config(m, &c));
  c.lr = 3e38f; /* finite, but the first Adam step would overflow float */
  assert_anbn_ok(anbn_model_set_training(m, &c));
  assert_anbn_status(anbn_train_epoch(m, t, NULL, NULL, NULL), ANBN_ERR_NUMERIC);
  float *after = test_params(m, &n);
  assert_memory_equal(before, after, n * sizeof(float));
  assert_anbn_ok(anbn_model_get_info(m, &i1));
  assert_int_equal(i0.epoch, i1.epoch);
  assert_int_equal(i0.adam_step, i1.adam_step);
  /* and training goes on normally afterwards */
  c.lr = 1e-3f;
  assert_anbn_ok(anbn_model_set_training(m, &c));
  assert_anbn_ok(anbn_train_epoch(m, t, NULL, NULL, NULL));
  free(before);
  free(after);
  anbn_corpus_destroy(t);
  anbn_corpus_destroy(v);
  anbn_destroy(m);
}

static void test_null_everywhere(void **state) {
  (void)state;
  /* every entry point with NULL handles: an error, never a crash */
  size_t n;
  int32_t tok[4];
  float f[4];
  double d;
  anbn_corpus *c = NULL;
  anbn_model *m = NULL;
  anbn_state *s = NULL;
  assert_anbn_status(anbn_corpus_generate(NULL, &c), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_corpus_seed(ANBN_LANG_ANBN, 1, NULL, &c), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_corpus_from_tokens(2, NULL, NULL, 1, &c), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_corpus_load(NULL, 2, &c), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_corpus_save(NULL, "x"), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_corpus_size(NULL, &n), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_corpus_get(NULL, 0, tok, 4, &n), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_model_get_config(NULL, NULL), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_model_set_training(NULL, NULL), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_gradients(NULL, tok, 4, f, 4, &d), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_state_create(NULL, &s), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_state_reset(NULL), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_state_get(NULL, f, 4, NULL, 0), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_probe(NULL, tok, 4, NULL), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_capacity(NULL, 5, NULL, NULL, 0), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_capacity_v2(NULL, 5, NULL, NULL, 0), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_capacity_at(NULL, tok, 1, NULL), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_generate(NULL, NULL, &c, NULL), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_param_count(NULL, &n), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_param_info(NULL, 0, NULL, NULL, NULL, NULL), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_param_get(NULL, "fc.bias", f, 4), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_param_set(NULL, "fc.bias", f, 3), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_save(NULL, "x"), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_load(NULL, NULL, &m), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_backend_get(0, NULL), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_backend_find(NULL, NULL), ANBN_ERR_INVALID_ARGUMENT);
  assert_null(c);
  assert_null(m);
  assert_null(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_last_error_is_per_thread),
      cmocka_unit_test(test_reentrant_call_is_busy),
      cmocka_unit_test(test_second_thread_gets_busy),
      cmocka_unit_test(test_non_finite_training_changes_nothing),
      cmocka_unit_test(test_null_everywhere),
  };
  return cmocka_run_group_tests_name("errors", tests, NULL, NULL);
}
