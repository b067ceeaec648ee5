/* Threads: a model handed from thread to thread (what every pool does), many
 * models on many threads, and two threads on one model.  Run under TSan in CI
 * (preset tsan) on every CPU backend. */
#include <pthread.h>

#include "anbn_test.h"
#ifdef _OPENMP
#include <omp.h>
#endif

static const char *const kBackends[] = {"ref", "onednn"};

static int backend_usable(const char *name) {
  anbn_backend_info info;
  return anbn_backend_find(name, &info) == ANBN_OK && info.available;
}

static anbn_model *make(const char *backend, anbn_cell cell, uint64_t seed) {
  anbn_config c;
  anbn_config_init(&c);
  c.backend = backend;
  c.cell = cell;
  c.seed = seed;
  anbn_model *m = NULL;
  assert_anbn_ok(anbn_create(&c, &m));
  return m;
}

typedef struct {
  anbn_model *m;
  const anbn_corpus *corpus;
  int epochs;
  anbn_status rc;
} Job;

static void *train_job(void *arg) {
  Job *j = arg;
  j->rc = ANBN_OK;
  for (int e = 0; e < j->epochs && j->rc == ANBN_OK; ++e) j->rc = anbn_train_epoch(j->m, j->corpus, NULL, NULL, NULL);
  return NULL;
}

static void run_in_thread(Job *j) {
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, train_job, j), 0);
  pthread_join(t, NULL);
  assert_anbn_ok(j->rc);
}

static void assert_same_params(anbn_model *a, anbn_model *b) {
  size_t na, nb;
  float *pa = test_params(a, &na), *pb = test_params(b, &nb);
  assert_int_equal(na, nb);
  assert_memory_equal(pa, pb, na * sizeof(float)); /* bit for bit */
  free(pa);
  free(pb);
}

/* Train in thread A, join, train in thread B, then probe on the main thread:
 * bitwise what one thread gives. */
static void test_handoff_between_threads(void **state) {
  (void)state;
  anbn_corpus *t, *v;
  assert_anbn_ok(anbn_corpus_seed(ANBN_LANG_ANBN, 1, &t, &v));
  for (size_t b = 0; b < sizeof kBackends / sizeof *kBackends; ++b) {
    if (!backend_usable(kBackends[b])) {
      print_message("handoff: backend %s not available here\n", kBackends[b]);
      continue;
    }
    for (anbn_cell cell = ANBN_CELL_RNN_TANH; cell <= ANBN_CELL_PEEPHOLE; ++cell) {
      anbn_model *moved = make(kBackends[b], cell, 3), *home = make(kBackends[b], cell, 3);
      Job a = {moved, t, 1, ANBN_OK}, b2 = {moved, t, 1, ANBN_OK}, h = {home, t, 2, ANBN_OK};
      run_in_thread(&a);
      run_in_thread(&b2);
      train_job(&h);
      assert_anbn_ok(h.rc);
      assert_same_params(moved, home);
      anbn_eval_stats e1 = {.struct_size = sizeof e1}, e2 = {.struct_size = sizeof e2};
      assert_anbn_ok(anbn_evaluate(moved, v, &e1));
      assert_anbn_ok(anbn_evaluate(home, v, &e2));
      assert_memory_equal(&e1.mean_loss, &e2.mean_loss, sizeof(double));
      anbn_destroy(moved);
      anbn_destroy(home);
    }
    print_message("handoff: %s bitwise equal for rnn, lstm, gru\n", kBackends[b]);
  }
  anbn_corpus_destroy(t);
  anbn_corpus_destroy(v);
}

/* 4 threads, 2 models each, concurrently: every model equal to a serial run. */
enum { kThreads = 4, kPer = 2 };
static void test_many_models_many_threads(void **state) {
  (void)state;
  anbn_corpus *t, *v;
  assert_anbn_ok(anbn_corpus_seed(ANBN_LANG_ANBN, 2, &t, &v));
  for (size_t b = 0; b < sizeof kBackends / sizeof *kBackends; ++b) {
    if (!backend_usable(kBackends[b])) continue;
    Job jobs[kThreads * kPer];
    anbn_model *serial[kThreads * kPer];
    for (int i = 0; i < kThreads * kPer; ++i) {
      const anbn_cell cell = (anbn_cell)(i % 3);
      jobs[i] = (Job){make(kBackends[b], cell, 10 + (uint64_t)i), t, 1, ANBN_OK};
      serial[i] = make(kBackends[b], cell, 10 + (uint64_t)i);
    }
    pthread_t th[kThreads * kPer];
    for (int i = 0; i < kThreads * kPer; ++i) assert_int_equal(pthread_create(&th[i], NULL, train_job, &jobs[i]), 0);
    for (int i = 0; i < kThreads * kPer; ++i) pthread_join(th[i], NULL);
    for (int i = 0; i < kThreads * kPer; ++i) {
      assert_anbn_ok(jobs[i].rc);
      assert_anbn_ok(anbn_train_epoch(serial[i], t, NULL, NULL, NULL));
      assert_same_params(jobs[i].m, serial[i]);
      anbn_destroy(jobs[i].m);
      anbn_destroy(serial[i]);
    }
    print_message("many models: %s, %d models on %d threads equal to serial runs\n", kBackends[b], kThreads * kPer,
                  kThreads * kPer);
  }
  anbn_corpus_destroy(t);
  anbn_corpus_destroy(v);
}

/* Two threads, one model: the second gets BUSY while the first trains, and
 * the first's result is untouched.  Deterministic: the first thread's progress
 * callback waits until the second has tried. */
/* The meeting of a thread inside a call (its progress callback) and a
 * second thread: the first waits in the callback until the second has
 * tried; the second waits until the first is inside. */
typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int training, tried;
} Rendezvous;

static int wait_for_second(void *user, const anbn_progress *p) { /* user: a struct starting with a Rendezvous */
  Rendezvous *r = user;
  (void)p;
  pthread_mutex_lock(&r->mu);
  r->training = 1;
  pthread_cond_broadcast(&r->cv);
  while (!r->tried) pthread_cond_wait(&r->cv, &r->mu);
  pthread_mutex_unlock(&r->mu);
  return 0;
}

static void wait_for_first(Rendezvous *r) {
  pthread_mutex_lock(&r->mu);
  while (!r->training) pthread_cond_wait(&r->cv, &r->mu);
  pthread_mutex_unlock(&r->mu);
}

static void second_done(Rendezvous *r) {
  pthread_mutex_lock(&r->mu);
  r->tried = 1;
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
}

typedef struct {
  Rendezvous rv;
  anbn_model *m;
  anbn_state *st;
  anbn_status second[5];
} Meet;

static void *second_thread(void *arg) {
  Meet *x = arg;
  wait_for_first(&x->rv);
  anbn_corpus *t, *v;
  anbn_corpus_seed(ANBN_LANG_ANBN, 1, &t, &v);
  anbn_config c;
  anbn_config_init(&c);
  anbn_model_info info = {.struct_size = sizeof info};
  x->second[0] = anbn_train_epoch(x->m, t, NULL, NULL, NULL);
  x->second[1] = anbn_model_get_config(x->m, &c);
  x->second[2] = anbn_model_get_info(x->m, &info);
  x->second[3] = anbn_step(x->m, x->st, 3, NULL);
  x->second[4] = anbn_save(x->m, "/nonexistent-dir/never-written.safetensors");
  anbn_corpus_destroy(t);
  anbn_corpus_destroy(v);
  second_done(&x->rv);
  return NULL;
}

static void test_two_threads_one_model_busy(void **state) {
  (void)state;
  anbn_corpus *t, *v;
  assert_anbn_ok(anbn_corpus_seed(ANBN_LANG_ANBN, 1, &t, &v));
  for (size_t b = 0; b < sizeof kBackends / sizeof *kBackends; ++b) {
    if (!backend_usable(kBackends[b])) continue;
    Meet x = {{PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0}, make(kBackends[b], ANBN_CELL_LSTM, 5), NULL, {0}};
    anbn_model *alone = make(kBackends[b], ANBN_CELL_LSTM, 5);
    assert_anbn_ok(anbn_state_create(x.m, &x.st));
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, second_thread, &x), 0);
    assert_anbn_ok(anbn_train_epoch(x.m, t, wait_for_second, &x, NULL));
    pthread_join(th, NULL);
    for (int i = 0; i < 5; ++i) assert_int_equal(x.second[i], ANBN_ERR_BUSY);
    assert_anbn_ok(anbn_train_epoch(alone, t, NULL, NULL, NULL));
    assert_same_params(x.m, alone);
    anbn_state_destroy(x.st);
    anbn_destroy(x.m);
    anbn_destroy(alone);
  }
  anbn_corpus_destroy(t);
  anbn_corpus_destroy(v);
}

/* One state stepped from two threads (two models): never a data race; each
 * call either runs or gets BUSY. */
typedef struct {
  anbn_model *m;
  anbn_state *st;
  int ok, busy, other;
} Stepper;

static void *step_many(void *arg) {
  Stepper *s = arg;
  for (int i = 0; i < 2000; ++i) {
    const anbn_status rc = anbn_step(s->m, s->st, i % 3, NULL);
    if (rc == ANBN_OK) s->ok++;
    else if (rc == ANBN_ERR_BUSY) s->busy++;
    else s->other++;
  }
  return NULL;
}

static void test_shared_state_is_guarded(void **state) {
  (void)state;
  anbn_model *a = make("ref", ANBN_CELL_LSTM, 1), *b = make("ref", ANBN_CELL_LSTM, 2);
  anbn_state *st;
  assert_anbn_ok(anbn_state_create(a, &st));
  Stepper s1 = {a, st, 0, 0, 0}, s2 = {b, st, 0, 0, 0};
  pthread_t t1, t2;
  pthread_create(&t1, NULL, step_many, &s1);
  pthread_create(&t2, NULL, step_many, &s2);
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  assert_int_equal(s1.other + s2.other, 0);
  assert_int_equal(s1.ok + s1.busy + s2.ok + s2.busy, 4000);
  print_message("shared state: %d steps ran, %d got BUSY\n", s1.ok + s2.ok, s1.busy + s2.busy);
  anbn_state_destroy(st);
  anbn_destroy(a);
  anbn_destroy(b);
}

/* get_config against set_training on two threads: each call runs whole or
 * gets BUSY (TSan: no race on the config). */
typedef struct {
  anbn_model *m;
  int writer, ok, busy, other;
} ConfigJob;

static void *config_loop(void *arg) {
  ConfigJob *j = arg;
  for (int i = 0; i < 3000; ++i) {
    anbn_config c;
    anbn_config_init(&c);
    c.lr = 1e-3f * (float)(1 + i % 7);
    const anbn_status rc = j->writer ? anbn_model_set_training(j->m, &c) : anbn_model_get_config(j->m, &c);
    if (rc == ANBN_OK) j->ok++;
    else if (rc == ANBN_ERR_BUSY) j->busy++;
    else j->other++;
    if (!j->writer && rc == ANBN_OK && !(c.lr > 0.f)) j->other++;
  }
  return NULL;
}

static void test_config_reader_and_writer(void **state) {
  (void)state;
  anbn_model *m = make("ref", ANBN_CELL_GRU, 1);
  ConfigJob w = {m, 1, 0, 0, 0}, r = {m, 0, 0, 0, 0};
  pthread_t t1, t2;
  pthread_create(&t1, NULL, config_loop, &w);
  pthread_create(&t2, NULL, config_loop, &r);
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  assert_int_equal(w.other + r.other, 0);
  assert_int_equal(w.ok + w.busy + r.ok + r.busy, 6000);
  anbn_destroy(m);
}

/* Destroying a model from inside its own call (a progress callback) is the
 * caller's error; the library defers the free to the end of that call. */
static int destroy_from_callback(void *user, const anbn_progress *p) {
  (void)p;
  anbn_model **m = user;
  if (*m) anbn_destroy(*m), *m = NULL;
  return 0;
}

static void test_destroy_during_call_is_deferred(void **state) {
  (void)state;
  anbn_corpus *t, *v;
  assert_anbn_ok(anbn_corpus_seed(ANBN_LANG_ANBN, 1, &t, &v));
  anbn_model *m = make("ref", ANBN_CELL_RNN_TANH, 1), *handle = m;
  /* The call finishes and then frees the model (ASan: no use after free, no leak). */
  assert_anbn_ok(anbn_train_epoch(handle, t, destroy_from_callback, &m, NULL));
  assert_null(m);
  anbn_corpus_destroy(t);
  anbn_corpus_destroy(v);
}

/* A model's `threads` never change the process's (or the calling thread's)
 * OpenMP setting: onednn used to call omp_set_num_threads at create. */
static void test_threads_setting_is_not_process_wide(void **state) {
  (void)state;
#ifdef _OPENMP
  if (!backend_usable("onednn")) return;
  omp_set_num_threads(3);
  anbn_corpus *t, *v;
  assert_anbn_ok(anbn_corpus_seed(ANBN_LANG_ANBN, 1, &t, &v));
  anbn_model *m = make("onednn", ANBN_CELL_LSTM, 1); /* threads = 1 */
  assert_int_equal(omp_get_max_threads(), 3);
  assert_anbn_ok(anbn_train_epoch(m, t, NULL, NULL, NULL));
  assert_int_equal(omp_get_max_threads(), 3);
  anbn_destroy(m);
  anbn_corpus_destroy(t), anbn_corpus_destroy(v);
#else
  skip();
#endif
}

/* A population whose member 1 is training on another thread (as an
 * ordinary model): every population call that needs that member gets BUSY
 * and writes nothing; afterwards they run.  Deterministic as above. */
typedef struct {
  Rendezvous rv;
  anbn_population *pop;
  anbn_status got[5];
  anbn_capacity_result res[3];
  anbn_corpus *gen[3];
} PopMeet;

static void *pop_second(void *arg) {
  PopMeet *x = arg;
  wait_for_first(&x->rv);
  anbn_corpus *t, *v;
  anbn_corpus_seed(ANBN_LANG_ANBN, 2, &t, &v);
  const anbn_corpus *one[1] = {t};
  const int32_t ns[1] = {5};
  anbn_capacity_row_v2 r[3][1], *rp[3] = {r[0], r[1], r[2]};
  anbn_eval_stats ev[3];
  for (int i = 0; i < 3; ++i) ev[i].struct_size = sizeof ev[i];
  anbn_generate_config g;
  anbn_generate_config_init(&g);
  x->got[0] = anbn_population_train_epoch(x->pop, one, 1, NULL, NULL, NULL);
  x->got[1] = anbn_population_capacity(x->pop, 20, NULL, x->res, NULL);
  x->got[2] = anbn_population_capacity_at(x->pop, ns, 1, NULL, rp);
  x->got[3] = anbn_population_evaluate(x->pop, one, 1, NULL, ev);
  x->got[4] = anbn_population_generate(x->pop, &g, NULL, x->gen, NULL);
  anbn_corpus_destroy(t), anbn_corpus_destroy(v);
  second_done(&x->rv);
  return NULL;
}

static void test_population_member_busy(void **state) {
  (void)state;
  anbn_config c;
  anbn_config_init(&c);
  c.backend = "ref", c.cell = ANBN_CELL_LSTM, c.hidden = 2;
  const uint64_t seeds[3] = {1, 2, 3};
  PopMeet x = {{PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0}, NULL, {0}, {{0}}, {NULL, NULL, NULL}};
  assert_anbn_ok(anbn_population_create(&c, seeds, 3, &x.pop));
  for (int i = 0; i < 3; ++i) x.res[i].struct_size = sizeof x.res[i], x.res[i].capacity = -7;
  anbn_model *m1;
  assert_anbn_ok(anbn_population_member(x.pop, 1, &m1));
  anbn_corpus *t, *v;
  assert_anbn_ok(anbn_corpus_seed(ANBN_LANG_ANBN, 1, &t, &v));
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, pop_second, &x), 0);
  assert_anbn_ok(anbn_train_epoch(m1, t, wait_for_second, &x, NULL));
  pthread_join(th, NULL);
  for (int i = 0; i < 5; ++i) assert_int_equal(x.got[i], ANBN_ERR_BUSY);
  for (int i = 0; i < 3; ++i) assert_int_equal(x.res[i].capacity, -7); /* nothing written */
  for (int i = 0; i < 3; ++i) assert_null(x.gen[i]);
  assert_anbn_ok(anbn_population_capacity(x.pop, 20, NULL, x.res, NULL)); /* free again: it runs */
  anbn_corpus_destroy(t), anbn_corpus_destroy(v);
  anbn_population_destroy(x.pop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_handoff_between_threads),
      cmocka_unit_test(test_many_models_many_threads),
      cmocka_unit_test(test_two_threads_one_model_busy),
      cmocka_unit_test(test_population_member_busy),
      cmocka_unit_test(test_shared_state_is_guarded),
      cmocka_unit_test(test_config_reader_and_writer),
      cmocka_unit_test(test_destroy_during_call_is_deferred),
      cmocka_unit_test(test_threads_setting_is_not_process_wide),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
