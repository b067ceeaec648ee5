/* Evaluation, capacity, probing and generation on hand-built models whose
 * answers are known in closed form. */
#include <math.h>

#include "anbn_test.h"

/* An LSTM (H = 2) that counts exactly: saturated input/forget/output gates,
 * cell 0 = #0 - #1, cell 1 = #1.  It predicts 0 after START, 1 inside the
 * 0-block (ambiguous positions; wrong wherever another 0 follows), 1 while
 * cell 0 > 0 after the first 1, and END when cell 0 returns to 0. */
static anbn_model *counter_lstm(void) {
  anbn_model *m = test_model(ANBN_CELL_LSTM, 2, 1, 1);
  const float emb[8] = {1, 0, 0, 1, 0, 0, 0, 0}; /* tokens 0, 1, END, START */
  float wih[16] = {0}, whh[16] = {0}, bih[8] = {30, 30, 30, 30, 0, 0, 30, 30}, bhh[8] = {0};
  wih[4 * 2 + 0] = 30, wih[4 * 2 + 1] = -30; /* g0 = tanh(30 [x is 0] - 30 [x is 1]) */
  wih[5 * 2 + 1] = 30;                       /* g1 = tanh(30 [x is 1]) */
  const float fcw[6] = {0, -10, 20, 10, -20, 10}, fcb[3] = {1, -10, 0};
  assert_anbn_ok(anbn_param_set(m, "embedding.weight", emb, 8));
  assert_anbn_ok(anbn_param_set(m, "rnn.weight_ih_l0", wih, 16));
  assert_anbn_ok(anbn_param_set(m, "rnn.weight_hh_l0", whh, 16));
  assert_anbn_ok(anbn_param_set(m, "rnn.bias_ih_l0", bih, 8));
  assert_anbn_ok(anbn_param_set(m, "rnn.bias_hh_l0", bhh, 8));
  assert_anbn_ok(anbn_param_set(m, "fc.weight", fcw, 6));
  assert_anbn_ok(anbn_param_set(m, "fc.bias", fcb, 3));
  return m;
}

/* A model that always predicts 1: fc.weight = 0, fc.bias = (0, 5, 0). */
static anbn_model *always_one(anbn_cell cell) {
  anbn_model *m = test_model(cell, 2, 1, 1);
  const float w[6] = {0}, b[3] = {0, 5, 0};
  assert_anbn_ok(anbn_param_set(m, "fc.weight", w, 6));
  assert_anbn_ok(anbn_param_set(m, "fc.bias", b, 3));
  return m;
}

static void test_counter_capacity(void **state) {
  (void)state;
  anbn_model *m = counter_lstm();
  enum { N = 300 };
  anbn_capacity_row rows[N];
  anbn_capacity_result r;
  assert_anbn_ok(anbn_capacity(m, N, &r, rows, N));
  assert_int_equal(r.capacity, N);
  assert_int_equal(r.first_failure, 0);
  for (int n = 1; n <= N; ++n) {
    assert_int_equal(rows[n - 1].deterministic_errors, 0);
    assert_int_equal(rows[n - 1].errors, n - 1); /* the seed's Diff: the ambiguous 0s */
  }
  anbn_destroy(m);
}

static void test_counter_evaluate_and_probe(void **state) {
  (void)state;
  anbn_model *m = counter_lstm();
  anbn_corpus *t, *v;
  assert_anbn_ok(anbn_corpus_seed(ANBN_LANG_ANBN, 4, &t, &v));
  size_t nv, expect_errors = 0, expect_positions = 0, expect_det = 0;
  assert_anbn_ok(anbn_corpus_size(v, &nv));
  for (size_t i = 0; i < nv; ++i) {
    size_t len;
    assert_anbn_ok(anbn_corpus_get(v, i, NULL, 0, &len));
    const size_t n = (len - 2) / 2;
    expect_errors += n - 1, expect_positions += len - 1, expect_det += n + 1;
  }
  anbn_eval_stats e;
  assert_anbn_ok(anbn_evaluate(m, v, &e));
  assert_int_equal(e.sequences, nv);
  assert_int_equal(e.positions, expect_positions);
  assert_int_equal(e.errors, expect_errors);
  assert_int_equal(e.deterministic_positions, expect_det);
  assert_int_equal(e.deterministic_errors, 0);
  assert_int_equal(e.correct_sequences, nv);
  /* the cell state is the counter */
  const int32_t seq[] = {3, 0, 0, 0, 1, 1};
  float cell[12], gates[48];
  anbn_probe_buffers b;
  anbn_probe_buffers_init(&b);
  b.cell = cell, b.cell_count = 12;
  b.gates = gates, b.gates_count = 48;
  assert_anbn_ok(anbn_probe(m, seq, 6, &b));
  const float c0[] = {0, 1, 2, 3, 2, 1}, c1[] = {0, 0, 0, 0, 1, 2};
  for (int t = 0; t < 6; ++t) {
    assert_float_equal(cell[t * 2], c0[t], 1e-5);
    assert_float_equal(cell[t * 2 + 1], c1[t], 1e-5);
    assert_true(gates[t * 8 + 2] > 0.999999f); /* forget gate saturated */
  }
  /* greedy generation walks START 0 1 END */
  anbn_generate_config g;
  anbn_generate_config_init(&g);
  g.temperature = 0;
  g.count = 3;
  anbn_corpus *out;
  size_t valid;
  assert_anbn_ok(anbn_generate(m, &g, &out, &valid));
  assert_int_equal(valid, 3);
  int32_t s[8];
  size_t len;
  assert_anbn_ok(anbn_corpus_get(out, 0, s, 8, &len));
  const int32_t want[] = {3, 0, 1, 2};
  assert_int_equal(len, 4);
  assert_memory_equal(s, want, sizeof want);
  anbn_corpus_destroy(out);
  anbn_corpus_destroy(t), anbn_corpus_destroy(v);
  anbn_destroy(m);
}

static void test_always_one(void **state) {
  (void)state;
  for (int cell = 0; cell < 3; ++cell) {
    anbn_model *m = always_one((anbn_cell)cell);
    enum { N = 12 };
    anbn_capacity_row rows[N];
    anbn_capacity_result r;
    assert_anbn_ok(anbn_capacity(m, N, &r, rows, N));
    assert_int_equal(r.capacity, 0);
    assert_int_equal(r.first_failure, 1);
    for (int n = 1; n <= N; ++n) {
      assert_int_equal(rows[n - 1].errors, n + 1);            /* every 0 and the END */
      assert_int_equal(rows[n - 1].deterministic_errors, 2);  /* the first 0 and the END */
    }
    /* without a table the scan stops at the first failure, same answer */
    assert_anbn_ok(anbn_capacity(m, N, &r, NULL, 0));
    assert_int_equal(r.first_failure, 1);
    /* loss in closed form for one sequence of n = 3 */
    const int32_t seq[] = {3, 0, 0, 0, 1, 1, 1, 2};
    const size_t len = 8;
    anbn_corpus *c;
    assert_anbn_ok(anbn_corpus_from_tokens(2, seq, &len, 1, &c));
    anbn_eval_stats e;
    assert_anbn_ok(anbn_evaluate(m, c, &e));
    const double lse = log(2.0 + exp(5.0)), lp0 = -lse, lp1 = 5.0 - lse;
    const double want = (-(3 + 1) * lp0 - 3 * lp1) / 8.0;
    assert_float_equal(e.mean_loss, want, 1e-6);
    assert_int_equal(e.errors, 4);
    assert_int_equal(e.deterministic_errors, 2);
    assert_int_equal(e.correct_sequences, 0);
    anbn_corpus_destroy(c);
    anbn_destroy(m);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_counter_capacity),
      cmocka_unit_test(test_counter_evaluate_and_probe),
      cmocka_unit_test(test_always_one),
  };
  return cmocka_run_group_tests_name("eval", tests, NULL, NULL);
}
