/* Every public call with good and bad input. */
#include <math.h>

#include "anbn_test.h"

typedef struct {
  anbn_model *model;
  anbn_corpus *train, *valid;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  f->model = test_model(ANBN_CELL_LSTM, 2, 1, 1);
  assert_anbn_ok(anbn_corpus_seed(ANBN_LANG_ANBN, 1, &f->train, &f->valid));
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  anbn_destroy(f->model);
  anbn_corpus_destroy(f->train);
  anbn_corpus_destroy(f->valid);
  free(f);
  return 0;
}

static void test_version_and_status(void **state) {
  (void)state;
  assert_string_equal(anbn_version(), ANBN_VERSION_STRING);
  assert_int_equal(anbn_version_number(), ANBN_VERSION_NUMBER);
  assert_string_equal(anbn_status_string(ANBN_OK), "ANBN_OK");
  assert_string_equal(anbn_status_string(ANBN_ERR_CANCELLED), "ANBN_ERR_CANCELLED");
  assert_string_equal(anbn_status_string((anbn_status)12345), "ANBN_ERR_UNKNOWN");
  /* explicit, append-only values */
  assert_int_equal(ANBN_ERR_INVALID_ARGUMENT, 1);
  assert_int_equal(ANBN_ERR_CANCELLED, 9);
  anbn_cell c;
  assert_anbn_status(anbn_cell_from_name("nope", &c), ANBN_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(anbn_last_error(), "nope"));
  assert_anbn_ok(anbn_cell_from_name("rnn", &c));
  assert_string_equal(anbn_last_error(), ""); /* a success clears the message */
  assert_int_equal(c, ANBN_CELL_RNN_TANH);
  assert_anbn_ok(anbn_cell_from_name("gru", &c));
  assert_string_equal(anbn_cell_name(c), "gru");
  assert_null(anbn_cell_name((anbn_cell)7));
  assert_anbn_status(anbn_cell_from_name(NULL, &c), ANBN_ERR_INVALID_ARGUMENT);
  anbn_language l;
  assert_anbn_ok(anbn_language_from_name("anbncn", &l));
  assert_int_equal(anbn_language_alphabet(l), 3);
  assert_string_equal(anbn_language_name(l), "anbncn");
  assert_anbn_status(anbn_language_from_name("abc", &l), ANBN_ERR_INVALID_ARGUMENT);
}

static void test_language(void **state) {
  (void)state;
  int32_t buf[16];
  size_t len = 0;
  assert_anbn_ok(anbn_language_sequence(ANBN_LANG_ANBN, 2, buf, 16, &len));
  const int32_t want[] = {3, 0, 0, 1, 1, 2};
  assert_int_equal(len, 6);
  assert_memory_equal(buf, want, sizeof want);
  assert_anbn_status(anbn_language_sequence(ANBN_LANG_ANBN, 10, buf, 16, &len), ANBN_ERR_INVALID_ARGUMENT);
  assert_int_equal(len, 22); /* says how long it would be */
  assert_anbn_status(anbn_language_sequence(ANBN_LANG_ANBN, -1, buf, 16, &len), ANBN_ERR_INVALID_ARGUMENT);
  int32_t n = -1;
  assert_anbn_ok(anbn_language_accepts(ANBN_LANG_ANBN, want, 6, &n));
  assert_int_equal(n, 2);
  const int32_t bad[] = {3, 0, 1, 1, 2};
  assert_anbn_ok(anbn_language_accepts(ANBN_LANG_ANBN, bad, 5, &n));
  assert_int_equal(n, 0);
  assert_anbn_ok(anbn_language_sequence(ANBN_LANG_ANBNANBN, 2, buf, 16, &len));
  const int32_t want2[] = {3, 0, 0, 1, 1, 0, 0, 1, 1, 2};
  assert_memory_equal(buf, want2, sizeof want2);
  assert_anbn_ok(anbn_language_accepts(ANBN_LANG_ANBNANBN, buf, len, &n));
  assert_int_equal(n, 2);
  assert_anbn_ok(anbn_language_sequence(ANBN_LANG_ANBNCN, 1, buf, 16, &len));
  const int32_t want3[] = {4, 0, 1, 2, 3};
  assert_memory_equal(buf, want3, sizeof want3);
  /* deterministic positions of 3 0 0 1 1 2: t=0 yes, t=1,2 (after START 0^j) no, after the first 1 yes */
  const int expect[] = {1, 0, 0, 1, 1};
  for (size_t t = 0; t < 5; ++t) {
    int d = -1;
    assert_anbn_ok(anbn_language_deterministic(ANBN_LANG_ANBN, want, 6, t, &d));
    assert_int_equal(d, expect[t]);
  }
  int d;
  assert_anbn_status(anbn_language_deterministic(ANBN_LANG_ANBN, want, 6, 5, &d), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_language_accepts((anbn_language)9, want, 6, &n), ANBN_ERR_INVALID_ARGUMENT);
}

static void test_backends(void **state) {
  (void)state;
  size_t n = 0;
  assert_anbn_ok(anbn_backend_count(&n));
  assert_true(n >= 4); /* ref + the standard plugin names, found or not */
  int saw_ref = 0;
  for (size_t i = 0; i < n; ++i) {
    anbn_backend_info b;
    assert_anbn_ok(anbn_backend_get(i, &b));
    assert_non_null(b.name);
    assert_non_null(b.reason);
    if (!strcmp(b.name, "ref")) saw_ref = b.available;
    if (!b.available) assert_true(strlen(b.reason) > 0);
  }
  assert_true(saw_ref);
  anbn_backend_info b;
  assert_anbn_status(anbn_backend_get(n, &b), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_backend_count(NULL), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_ok(anbn_backend_find("auto", &b));
  assert_true(b.available);
  assert_anbn_status(anbn_backend_find("no-such", &b), ANBN_ERR_INVALID_ARGUMENT);
}

static void test_config_defaults(void **state) {
  (void)state;
  anbn_config c;
  anbn_config_init(&c);
  assert_int_equal(c.struct_size, sizeof c);
  assert_string_equal(c.backend, "auto");
  assert_int_equal(c.cell, ANBN_CELL_RNN_TANH);
  assert_int_equal(c.hidden, 2);
  assert_int_equal(c.layers, 1);
  assert_int_equal(c.batch_size, 1);
  assert_true(c.lr == 1e-3f && c.beta1 == 0.9f && c.beta2 == 0.999f && c.eps == 1e-8f);
  anbn_config_init(NULL); /* no crash */
}

static void test_create_bad_config(void **state) {
  (void)state;
  anbn_config c;
  anbn_model *m = (anbn_model *)0x1;
  anbn_config_init(&c);
  assert_anbn_status(anbn_create(NULL, &m), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_create(&c, NULL), ANBN_ERR_INVALID_ARGUMENT);
  anbn_config_init(&c), c.struct_size = 8;
  assert_anbn_status(anbn_create(&c, &m), ANBN_ERR_INVALID_ARGUMENT);
  anbn_config_init(&c), c.hidden = 0;
  assert_anbn_status(anbn_create(&c, &m), ANBN_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(anbn_last_error(), "hidden"));
  anbn_config_init(&c), c.layers = 0;
  assert_anbn_status(anbn_create(&c, &m), ANBN_ERR_INVALID_ARGUMENT);
  anbn_config_init(&c), c.lr = NAN;
  assert_anbn_status(anbn_create(&c, &m), ANBN_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(anbn_last_error(), "lr"));
  anbn_config_init(&c), c.lr = INFINITY;
  assert_anbn_status(anbn_create(&c, &m), ANBN_ERR_INVALID_ARGUMENT);
  anbn_config_init(&c), c.lr = -1e-3f;
  assert_anbn_status(anbn_create(&c, &m), ANBN_ERR_INVALID_ARGUMENT);
  anbn_config_init(&c), c.beta1 = 1.0f;
  assert_anbn_status(anbn_create(&c, &m), ANBN_ERR_INVALID_ARGUMENT);
  anbn_config_init(&c), c.cell = (anbn_cell)42;
  assert_anbn_status(anbn_create(&c, &m), ANBN_ERR_INVALID_ARGUMENT);
  anbn_config_init(&c), c.batch_size = 0;
  assert_anbn_status(anbn_create(&c, &m), ANBN_ERR_INVALID_ARGUMENT);
  anbn_config_init(&c), c.clip_norm = NAN;
  assert_anbn_status(anbn_create(&c, &m), ANBN_ERR_INVALID_ARGUMENT);
  anbn_config_init(&c), c.clip_norm = -1.0f;
  assert_anbn_status(anbn_create(&c, &m), ANBN_ERR_INVALID_ARGUMENT);
  anbn_config_init(&c), c.backend = "no-such-backend";
  assert_anbn_status(anbn_create(&c, &m), ANBN_ERR_BACKEND_UNAVAILABLE);
  assert_non_null(strstr(anbn_last_error(), "no-such-backend"));
  assert_ptr_equal(m, (anbn_model *)0x1); /* out untouched on failure */
  anbn_destroy(NULL);
  anbn_corpus_destroy(NULL);
  anbn_state_destroy(NULL);
}

static void test_model_info_and_training_settings(void **state) {
  fixture *f = *state;
  anbn_model_info i;
  assert_anbn_ok(anbn_model_get_info(f->model, &i));
  assert_int_equal(i.cell, ANBN_CELL_LSTM);
  assert_int_equal(i.vocab_size, 4);
  assert_int_equal(i.output_size, 3);
  assert_int_equal(i.gates, 4);
  assert_string_equal(i.backend, "ref");
  /* 4*2 + (8*2 + 8*2 + 8 + 8) + 3*2 + 3 */
  assert_int_equal(i.num_params, 8 + 48 + 9);
  assert_anbn_status(anbn_model_get_info(NULL, &i), ANBN_ERR_INVALID_ARGUMENT);
  anbn_config c = {.struct_size = sizeof c}; /* an output: its size set */
  assert_anbn_ok(anbn_model_get_config(f->model, &c));
  c.lr = NAN;
  assert_anbn_status(anbn_model_set_training(f->model, &c), ANBN_ERR_INVALID_ARGUMENT);
  anbn_config after;
  assert_anbn_ok(anbn_model_get_config(f->model, &after));
  assert_true(after.lr == 1e-3f); /* unchanged */
  c.lr = 5e-3f;
  c.batch_size = 4;
  assert_anbn_ok(anbn_model_set_training(f->model, &c));
  assert_anbn_ok(anbn_model_get_config(f->model, &after));
  assert_true(after.lr == 5e-3f && after.batch_size == 4);
}

typedef struct {
  size_t calls, last_done;
  size_t cancel_after;
  size_t seen[16];
} progress_log;

static int log_progress(void *user, const anbn_progress *p) {
  progress_log *l = user;
  if (l->calls < 16) l->seen[l->calls] = p->done;
  l->calls++;
  l->last_done = p->done;
  assert_true(p->total == 2000);
  assert_true(isfinite(p->mean_loss));
  return l->cancel_after && p->done >= l->cancel_after;
}

static void test_train_epoch(void **state) {
  fixture *f = *state;
  progress_log log = {0};
  anbn_epoch_stats st = {.struct_size = sizeof st};
  assert_anbn_ok(anbn_train_epoch(f->model, f->train, log_progress, &log, &st));
  assert_int_equal(st.sequences, 2000);
  assert_int_equal(st.batches, 2000);
  assert_int_equal(st.epoch, 0);
  assert_true(st.mean_loss > 0.1 && st.mean_loss < 2.0);
  /* after the first sequence, every 500, and at the end: the seed's i % 500 == 0 lines */
  assert_int_equal(log.calls, 5);
  assert_int_equal(log.seen[0], 1);
  assert_int_equal(log.seen[1], 501);
  assert_int_equal(log.seen[3], 1501);
  assert_int_equal(log.seen[4], 2000);
  anbn_model_info i;
  assert_anbn_ok(anbn_model_get_info(f->model, &i));
  assert_int_equal(i.epoch, 1);
  assert_int_equal(i.adam_step, 2000);
  assert_anbn_ok(anbn_train_epoch(f->model, f->train, NULL, NULL, NULL));
  assert_anbn_status(anbn_train_epoch(NULL, f->train, NULL, NULL, NULL), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_train_epoch(f->model, NULL, NULL, NULL, NULL), ANBN_ERR_INVALID_ARGUMENT);
  anbn_corpus *abc = NULL, *abcv = NULL;
  assert_anbn_ok(anbn_corpus_seed(ANBN_LANG_ANBNCN, 1, &abc, &abcv));
  assert_anbn_status(anbn_train_epoch(f->model, abc, NULL, NULL, NULL), ANBN_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(anbn_last_error(), "alphabet"));
  anbn_corpus_destroy(abc);
  anbn_corpus_destroy(abcv);
}

static void test_cancel_rolls_back(void **state) {
  fixture *f = *state;
  size_t n;
  float *before = test_params(f->model, &n);
  progress_log log = {0};
  log.cancel_after = 501;
  assert_anbn_status(anbn_train_epoch(f->model, f->train, log_progress, &log, NULL), ANBN_ERR_CANCELLED);
  assert_int_equal(log.last_done, 501);
  float *after = test_params(f->model, &n);
  assert_memory_equal(before, after, n * sizeof(float));
  anbn_model_info i;
  assert_anbn_ok(anbn_model_get_info(f->model, &i));
  assert_int_equal(i.epoch, 0);
  assert_int_equal(i.adam_step, 0);
  free(before);
  free(after);
}

static void test_bucketed_batches(void **state) {
  fixture *f = *state;
  anbn_config c = {.struct_size = sizeof c}; /* an output: its size set */
  assert_anbn_ok(anbn_model_get_config(f->model, &c));
  c.batch_size = 64;
  assert_anbn_ok(anbn_model_set_training(f->model, &c));
  anbn_epoch_stats st = {.struct_size = sizeof st};
  assert_anbn_ok(anbn_train_epoch(f->model, f->train, NULL, NULL, &st));
  assert_int_equal(st.sequences, 2000);
  /* at least ceil(2000/64) batches, at most that plus one partial batch per length (10 lengths) */
  assert_true(st.batches >= 32 && st.batches <= 32 + 10);
  assert_true(isfinite(st.mean_loss));
}

static void test_evaluate(void **state) {
  fixture *f = *state;
  anbn_eval_stats e;
  assert_anbn_ok(anbn_evaluate(f->model, f->valid, &e));
  assert_int_equal(e.sequences, 202);
  assert_true(e.positions > 202);
  assert_true(e.errors <= e.positions);
  assert_true(e.deterministic_errors <= e.deterministic_positions);
  assert_true(e.deterministic_errors <= e.errors);
  assert_true(e.mean_loss > 0);
  assert_anbn_status(anbn_evaluate(f->model, f->valid, NULL), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_evaluate(NULL, f->valid, &e), ANBN_ERR_INVALID_ARGUMENT);
}

static void test_step_matches_probe(void **state) {
  fixture *f = *state;
  const int32_t seq[] = {3, 0, 0, 0, 1, 1, 1};
  enum { T = 7, O = 3, H = 2 };
  float lp[T * O], hid[T * H], cell[T * H], gates[T * 4 * H];
  anbn_probe_buffers b;
  anbn_probe_buffers_init(&b);
  b.log_probs = lp, b.log_probs_count = T * O;
  b.hidden = hid, b.hidden_count = T * H;
  b.cell = cell, b.cell_count = T * H;
  b.gates = gates, b.gates_count = T * 4 * H;
  assert_anbn_ok(anbn_probe(f->model, seq, T, &b));
  anbn_state *s = NULL;
  assert_anbn_ok(anbn_state_create(f->model, &s));
  double worst = 0;
  for (int t = 0; t < T; ++t) {
    float out[O], h[H], c[H];
    assert_anbn_ok(anbn_step(f->model, s, seq[t], out));
    assert_anbn_ok(anbn_state_get(s, h, H, c, H));
    double d1 = max_abs_diff(out, lp + t * O, O), d2 = max_abs_diff(h, hid + t * H, H), d3 = max_abs_diff(c, cell + t * H, H);
    worst = fmax(worst, fmax(d1, fmax(d2, d3)));
    /* LSTM gates are sigmoids/tanh: i, f, o in (0,1), g in (-1,1); c = f*c' + i*g */
    for (int j = 0; j < H; ++j) {
      const float *g = gates + t * 4 * H;
      assert_true(g[j] > 0 && g[j] < 1 && g[H + j] > 0 && g[H + j] < 1 && g[3 * H + j] > 0 && g[3 * H + j] < 1);
      const float cp = t ? cell[(t - 1) * H + j] : 0.f;
      assert_float_equal(cell[t * H + j], g[H + j] * cp + g[j] * g[2 * H + j], 1e-6);
      assert_float_equal(hid[t * H + j], g[3 * H + j] * tanhf(cell[t * H + j]), 1e-6);
    }
  }
  print_message("step vs probe: worst difference %.3g\n", worst);
  assert_true(worst <= 1e-6);
  /* bad token: error, state unchanged */
  float h_before[H], h_after[H];
  assert_anbn_ok(anbn_state_get(s, h_before, H, NULL, 0));
  assert_anbn_status(anbn_step(f->model, s, 4, NULL), ANBN_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(anbn_last_error(), "token 4"));
  assert_anbn_status(anbn_step(f->model, s, -1, NULL), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_ok(anbn_state_get(s, h_after, H, NULL, 0));
  assert_memory_equal(h_before, h_after, sizeof h_before);
  assert_anbn_status(anbn_state_get(s, h_after, 1, NULL, 0), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_ok(anbn_state_reset(s));
  assert_anbn_ok(anbn_state_get(s, h_after, H, NULL, 0));
  assert_true(h_after[0] == 0.f && h_after[1] == 0.f);
  assert_anbn_status(anbn_step(NULL, s, 0, NULL), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_step(f->model, NULL, 0, NULL), ANBN_ERR_INVALID_ARGUMENT);
  anbn_model *other = test_model(ANBN_CELL_GRU, 3, 1, 1);
  assert_anbn_status(anbn_step(other, s, 0, NULL), ANBN_ERR_INVALID_ARGUMENT); /* wrong shape */
  anbn_destroy(other);
  anbn_state_destroy(s);
}

static void test_probe_bad_input(void **state) {
  fixture *f = *state;
  const int32_t seq[] = {3, 0, 1};
  float lp[9], small[2];
  anbn_probe_buffers b;
  anbn_probe_buffers_init(&b);
  b.log_probs = lp, b.log_probs_count = 9;
  assert_anbn_ok(anbn_probe(f->model, seq, 3, &b));
  assert_anbn_status(anbn_probe(f->model, NULL, 3, &b), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_probe(f->model, seq, 0, &b), ANBN_ERR_INVALID_ARGUMENT);
  const int32_t bad[] = {3, 7, 1};
  assert_anbn_status(anbn_probe(f->model, bad, 3, &b), ANBN_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(anbn_last_error(), "token 7"));
  b.log_probs = small, b.log_probs_count = 2;
  assert_anbn_status(anbn_probe(f->model, seq, 3, &b), ANBN_ERR_INVALID_ARGUMENT);
  anbn_probe_buffers zero = {0};
  assert_anbn_status(anbn_probe(f->model, seq, 3, &zero), ANBN_ERR_INVALID_ARGUMENT);
  anbn_model *rnn = test_model(ANBN_CELL_RNN_TANH, 2, 1, 1);
  anbn_probe_buffers_init(&b);
  float cell[6];
  b.cell = cell, b.cell_count = 6;
  assert_anbn_status(anbn_probe(rnn, seq, 3, &b), ANBN_ERR_INVALID_ARGUMENT);
  anbn_probe_buffers_init(&b);
  b.gates = cell, b.gates_count = 6;
  assert_anbn_status(anbn_probe(rnn, seq, 3, &b), ANBN_ERR_INVALID_ARGUMENT);
  anbn_destroy(rnn);
}

static void test_capacity_and_generate_bad_input(void **state) {
  fixture *f = *state;
  anbn_capacity_result r;
  anbn_capacity_row rows[5];
  assert_anbn_ok(anbn_capacity(f->model, 5, &r, rows, 5));
  assert_int_equal(r.max_n, 5);
  for (int i = 0; i < 5; ++i) assert_int_equal(rows[i].n, i + 1), assert_int_equal(rows[i].positions, 2 * (i + 1) + 1);
  assert_anbn_status(anbn_capacity(f->model, 0, &r, NULL, 0), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_capacity(f->model, 6, &r, rows, 5), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_capacity(f->model, 5, NULL, rows, 5), ANBN_ERR_INVALID_ARGUMENT);
  /* a max_n out of range is refused before anything is allocated for it */
  assert_anbn_status(anbn_capacity(f->model, 2000000000, &r, rows, (size_t)-1), ANBN_ERR_INVALID_ARGUMENT);
  assert_true(strstr(anbn_last_error(), "1..1e6") != NULL);
  anbn_generate_config g;
  anbn_generate_config_init(&g);
  assert_int_equal(g.count, 10);
  anbn_corpus *a = NULL, *b = NULL;
  size_t va = 0, vb = 0;
  assert_anbn_ok(anbn_generate(f->model, &g, &a, &va));
  assert_anbn_ok(anbn_generate(f->model, &g, &b, &vb));
  size_t na, nb;
  assert_anbn_ok(anbn_corpus_size(a, &na));
  assert_anbn_ok(anbn_corpus_size(b, &nb));
  assert_int_equal(na, 10);
  assert_int_equal(va, vb); /* same seed, same samples */
  for (size_t i = 0; i < na; ++i) {
    int32_t x[256], y[256];
    size_t lx, ly;
    assert_anbn_ok(anbn_corpus_get(a, i, x, 256, &lx));
    assert_anbn_ok(anbn_corpus_get(b, i, y, 256, &ly));
    assert_int_equal(lx, ly);
    assert_memory_equal(x, y, lx * sizeof *x);
    assert_int_equal(x[0], 3);
  }
  anbn_corpus_destroy(a);
  anbn_corpus_destroy(b);
  g.temperature = NAN;
  assert_anbn_status(anbn_generate(f->model, &g, &a, NULL), ANBN_ERR_INVALID_ARGUMENT);
  g.temperature = -1;
  assert_anbn_status(anbn_generate(f->model, &g, &a, NULL), ANBN_ERR_INVALID_ARGUMENT);
  g.temperature = 0;
  g.max_len = 1;
  assert_anbn_status(anbn_generate(f->model, &g, &a, NULL), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_generate(f->model, NULL, &a, NULL), ANBN_ERR_INVALID_ARGUMENT);
}

static void test_params_by_name(void **state) {
  fixture *f = *state;
  size_t count;
  assert_anbn_ok(anbn_param_count(f->model, &count));
  assert_int_equal(count, 3 + 4);
  const char *expect[] = {"embedding.weight", "lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0",
                          "lstm.bias_hh_l0", "fc.weight", "fc.bias"}; /* the seed's SimpleLSTM: self.lstm */
  const int64_t rows[] = {4, 8, 8, 8, 8, 3, 3}, cols[] = {2, 2, 2, 0, 0, 2, 0};
  for (size_t i = 0; i < count; ++i) {
    const char *name;
    int32_t nd;
    int64_t shape[2];
    size_t numel;
    assert_anbn_ok(anbn_param_info(f->model, i, &name, &nd, shape, &numel));
    assert_string_equal(name, expect[i]);
    assert_int_equal(shape[0], rows[i]);
    assert_int_equal(nd, cols[i] ? 2 : 1);
    if (cols[i]) assert_int_equal(shape[1], cols[i]);
  }
  assert_anbn_status(anbn_param_info(f->model, count, NULL, NULL, NULL, NULL), ANBN_ERR_INVALID_ARGUMENT);
  float w[6], w2[6];
  assert_anbn_ok(anbn_param_get(f->model, "fc.weight", w, 6));
  /* PyTorch default init: |w| <= 1/sqrt(H) */
  for (int i = 0; i < 6; ++i) assert_true(fabsf(w[i]) <= 1.0f / sqrtf(2.0f));
  assert_anbn_status(anbn_param_get(f->model, "fc.weight", w, 5), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_param_get(f->model, "fc.nope", w, 6), ANBN_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(anbn_last_error(), "fc.nope"));
  for (int i = 0; i < 6; ++i) w2[i] = (float)i;
  assert_anbn_ok(anbn_param_set(f->model, "fc.weight", w2, 6));
  assert_anbn_ok(anbn_param_get(f->model, "fc.weight", w, 6));
  assert_memory_equal(w, w2, sizeof w);
  assert_anbn_status(anbn_param_set(f->model, "fc.weight", w2, 5), ANBN_ERR_INVALID_ARGUMENT);
  w2[3] = NAN;
  assert_anbn_status(anbn_param_set(f->model, "fc.weight", w2, 6), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_ok(anbn_param_get(f->model, "fc.weight", w, 6));
  assert_true(w[3] == 3.0f); /* unchanged */
  assert_anbn_status(anbn_param_set(f->model, NULL, w2, 6), ANBN_ERR_INVALID_ARGUMENT);
}

static void test_gradients_api(void **state) {
  fixture *f = *state;
  const int32_t seq[] = {3, 0, 1, 2};
  float g[65];
  double loss = 0;
  assert_anbn_ok(anbn_gradients(f->model, seq, 4, g, 65, &loss));
  assert_true(loss > 0);
  assert_anbn_status(anbn_gradients(f->model, seq, 4, g, 10, &loss), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_gradients(f->model, seq, 1, g, 65, &loss), ANBN_ERR_INVALID_ARGUMENT);
  const int32_t bad[] = {3, 0, 9, 2};
  assert_anbn_status(anbn_gradients(f->model, bad, 4, g, 65, &loss), ANBN_ERR_INVALID_ARGUMENT);
}

static void test_init_is_reproducible(void **state) {
  (void)state;
  anbn_model *a = test_model(ANBN_CELL_GRU, 3, 2, 42), *b = test_model(ANBN_CELL_GRU, 3, 2, 42),
             *c = test_model(ANBN_CELL_GRU, 3, 2, 43);
  size_t n;
  float *pa = test_params(a, &n), *pb = test_params(b, &n), *pc = test_params(c, &n);
  assert_memory_equal(pa, pb, n * sizeof(float));
  assert_true(memcmp(pa, pc, n * sizeof(float)) != 0);
  /* embedding ~ N(0,1): 5x3 values, not all within the uniform bound 1/sqrt(3) */
  int outside = 0;
  for (int i = 0; i < 12; ++i) outside += fabsf(pa[i]) > 0.5774f;
  assert_true(outside > 0);
  free(pa), free(pb), free(pc);
  anbn_destroy(a), anbn_destroy(b), anbn_destroy(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_version_and_status),
      cmocka_unit_test(test_language),
      cmocka_unit_test(test_backends),
      cmocka_unit_test(test_config_defaults),
      cmocka_unit_test(test_create_bad_config),
      cmocka_unit_test(test_init_is_reproducible),
      cmocka_unit_test_setup_teardown(test_model_info_and_training_settings, setup, teardown),
      cmocka_unit_test_setup_teardown(test_train_epoch, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cancel_rolls_back, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bucketed_batches, setup, teardown),
      cmocka_unit_test_setup_teardown(test_evaluate, setup, teardown),
      cmocka_unit_test_setup_teardown(test_step_matches_probe, setup, teardown),
      cmocka_unit_test_setup_teardown(test_probe_bad_input, setup, teardown),
      cmocka_unit_test_setup_teardown(test_capacity_and_generate_bad_input, setup, teardown),
      cmocka_unit_test_setup_teardown(test_params_by_name, setup, teardown),
      cmocka_unit_test_setup_teardown(test_gradients_api, setup, teardown),
  };
  return cmocka_run_group_tests_name("api", tests, NULL, NULL);
}
