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

/* The exact counter stays right far beyond any scan; spot checks agree with
 * the scan's rows where both look. */
static void test_counter_spot_checks(void **state) {
  (void)state;
  anbn_model *m = counter_lstm();
  enum { N = 40 };
  anbn_capacity_row_v2 rows[N], spot[3];
  anbn_capacity_result r;
  assert_anbn_ok(anbn_capacity_v2(m, N, &r, rows, N));
  const int32_t ns[3] = {7, 10000, 30000};
  assert_anbn_ok(anbn_capacity_at(m, ns, 3, spot));
  assert_memory_equal(&spot[0], &rows[6], sizeof spot[0]);
  for (int i = 1; i < 3; ++i) {
    assert_int_equal(spot[i].n, ns[i]);
    assert_int_equal(spot[i].positions, 2 * ns[i] + 1);
    assert_int_equal(spot[i].deterministic_errors, 0);
    assert_int_equal(spot[i].errors, ns[i] - 1);
    /* an exact counter is as sure at 3e4 as at 40 */
    print_message("counter LSTM at n = %d: margin %.9f (n = %d: %.9f)\n", ns[i], (double)spot[i].min_prob, N,
                  (double)rows[N - 1].min_prob);
    assert_true(spot[i].min_prob > 0.5f);
    assert_float_equal(spot[i].min_prob, rows[N - 1].min_prob, 1e-6);
  }
  /* bad n: an error, and rows untouched */
  anbn_capacity_row_v2 keep = spot[0];
  const int32_t bad[2] = {5, 0};
  assert_anbn_status(anbn_capacity_at(m, bad, 2, spot), ANBN_ERR_INVALID_ARGUMENT);
  assert_memory_equal(&spot[0], &keep, sizeof keep);
  assert_anbn_status(anbn_capacity_at(m, NULL, 1, spot), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_capacity_v2(m, N, &r, rows, N - 1), ANBN_ERR_INVALID_ARGUMENT);
  anbn_destroy(m);
}

/* The scan's per-n rows equal what a probe of each whole sequence gives,
 * scored position by position with anbn_language_deterministic; and the
 * probe's own argmax and deterministic mask are those. */
static void test_rows_match_probe(void **state) {
  (void)state;
  for (int cell = 0; cell < 4; ++cell) {
    anbn_model *m = test_model((anbn_cell)cell, 3, 2, 11 + (uint64_t)cell);
    enum { N = 70 }; /* more than one batch of the scan */
    anbn_capacity_row_v2 rows[N];
    anbn_capacity_result r;
    assert_anbn_ok(anbn_capacity_v2(m, N, &r, rows, N));
    double worst = 0;
    for (int n = 1; n <= N; n += 3) {
      int32_t seq[2 * N + 2];
      size_t len;
      assert_anbn_ok(anbn_language_sequence(ANBN_LANG_ANBN, n, seq, 2 * N + 2, &len));
      float lp[(2 * N + 1) * 3];
      int32_t best_at[2 * N + 1], det_at[2 * N + 1];
      anbn_probe_buffers b;
      anbn_probe_buffers_init(&b);
      b.log_probs = lp, b.log_probs_count = (2 * N + 1) * 3;
      b.argmax = best_at, b.argmax_count = 2 * N + 1, b.deterministic = det_at, b.deterministic_count = 2 * N + 1;
      assert_anbn_ok(anbn_probe(m, seq, len - 1, &b));
      int errors = 0, det_errors = 0;
      double min_prob = 1.0;
      for (size_t t = 0; t + 1 < len; ++t) {
        const float *row = &lp[t * 3];
        int best = 0;
        for (int o = 1; o < 3; ++o) best = row[o] > row[best] ? o : best;
        int det;
        assert_anbn_ok(anbn_language_deterministic(ANBN_LANG_ANBN, seq, len, t, &det));
        assert_int_equal(best_at[t], best); /* the probe's own analysis agrees */
        assert_int_equal(det_at[t], det);
        errors += best != seq[t + 1];
        if (det) {
          det_errors += best != seq[t + 1];
          if (exp(row[seq[t + 1]]) < min_prob) min_prob = exp(row[seq[t + 1]]);
        }
      }
      assert_int_equal(rows[n - 1].errors, errors);
      assert_int_equal(rows[n - 1].deterministic_errors, det_errors);
      const double d = fabs(rows[n - 1].min_prob - min_prob);
      worst = d > worst ? d : worst;
    }
    print_message("%s: worst |min_prob(scan) - min_prob(probe)| = %.3g\n", anbn_cell_name((anbn_cell)cell), worst);
    assert_true(worst <= 1e-6);
    anbn_destroy(m);
  }
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

/* anbn_diagnose on the hand-built counter: its cell unit 0 is the count
 * (correlation 1 with #0 - #1), and the buffer protocol of the call. */
static void test_diagnose_counter(void **state) {
  (void)state;
  anbn_model *m = counter_lstm();
  size_t len = 0;
  assert_anbn_ok(anbn_diagnose(m, 10, NULL, 0, &len));
  assert_true(len > 20);
  char small[8];
  assert_anbn_status(anbn_diagnose(m, 10, small, sizeof small, &len), ANBN_ERR_INVALID_ARGUMENT);
  char *text = malloc(len + 1);
  assert_anbn_ok(anbn_diagnose(m, 10, text, len + 1, &len));
  assert_int_equal(strlen(text), len);
  print_message("counter diagnosis: %.200s\n", text);
  assert_non_null(strstr(text, "\"cell\":\"lstm\""));
  assert_non_null(strstr(text, "\"index\":0"));
  const char *r = strstr(text, "\"correlation\":");
  assert_non_null(r);
  assert_true(strtod(r + strlen("\"correlation\":"), NULL) > 0.999); /* the unit is the count */
  const char *dz = strstr(text, "\"delta_zeros\":{\"mean\":");
  assert_non_null(dz);
  assert_true(fabs(strtod(dz + strlen("\"delta_zeros\":{\"mean\":"), NULL) - 1.0) < 1e-9); /* +1 per 0 */
  free(text);
  assert_anbn_status(anbn_diagnose(m, 0, NULL, 0, &len), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_diagnose(m, 10, NULL, 0, NULL), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_diagnose(NULL, 10, NULL, 0, &len), ANBN_ERR_INVALID_ARGUMENT);
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
    /* v2 rows: the same counts, and the margin in closed form: the first 0
     * and the END get p = 1 / (2 + e^5), the 1s 1 - 2 / (2 + e^5) */
    anbn_capacity_row_v2 rows2[N];
    anbn_capacity_result r2;
    assert_anbn_ok(anbn_capacity_v2(m, N, &r2, rows2, N));
    assert_int_equal(r2.capacity, r.capacity);
    for (int n = 1; n <= N; ++n) {
      assert_int_equal(rows2[n - 1].errors, rows[n - 1].errors);
      assert_int_equal(rows2[n - 1].deterministic_errors, rows[n - 1].deterministic_errors);
      assert_int_equal(rows2[n - 1].positions, rows[n - 1].positions);
      assert_float_equal(rows2[n - 1].min_prob, 1.0 / (2.0 + exp(5.0)), 1e-7);
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

/* Generation runs its samples as lanes: each greedy sample is what stepping
 * one token at a time with the argmax gives (2 layers, a cell state, samples
 * finishing at different lengths), and a sampled one does not depend on how
 * many others run beside it (3, 1100 or 1500 samples: one or two chunks). */
static void test_generate_lanes(void **state) {
  (void)state;
  anbn_model *m = test_model(ANBN_CELL_PEEPHOLE, 3, 2, 5);
  anbn_corpus *train, *valid;
  assert_anbn_ok(anbn_corpus_seed(ANBN_LANG_ANBN, 1, &train, &valid));
  assert_anbn_ok(anbn_train_epoch(m, train, NULL, NULL, NULL));
  anbn_generate_config g;
  anbn_generate_config_init(&g);
  g.count = 8, g.temperature = 0.f, g.max_len = 12;
  anbn_corpus *out, *few, *many;
  assert_anbn_ok(anbn_generate(m, &g, &out, NULL));
  int32_t seq[16];
  size_t len, lengths = 0;
  for (size_t i = 0; i < g.count; ++i) {
    assert_anbn_ok(anbn_corpus_get(out, i, seq, 16, &len));
    anbn_state *s;
    assert_anbn_ok(anbn_state_create(m, &s));
    for (size_t t = 0; t + 1 < len; ++t) {
      float lp[3];
      assert_anbn_ok(anbn_step(m, s, seq[t], lp));
      const int32_t best = lp[1] > lp[0] ? (lp[2] > lp[1] ? 2 : 1) : (lp[2] > lp[0] ? 2 : 0);
      assert_int_equal(seq[t + 1], best);
    }
    anbn_state_destroy(s);
    lengths += len;
  }
  /* sampled: lanes finish at different steps; samples 0..n-1 must not
   * depend on the lanes beside them (3, 1100 or 1500 samples: 1 or 2 chunks) */
  g.temperature = 1.f, g.max_len = 64;
  anbn_corpus *runs[3];
  const size_t counts[3] = {3, 1100, 1500};
  for (int r = 0; r < 3; ++r) {
    g.count = counts[r];
    assert_anbn_ok(anbn_generate(m, &g, &runs[r], NULL));
  }
  size_t shortest = 64, longest = 0;
  for (size_t i = 0; i < 1100; ++i) {
    int32_t a[64], b[64];
    size_t la, lb;
    assert_anbn_ok(anbn_corpus_get(runs[2], i, b, 64, &lb));
    assert_anbn_ok(anbn_corpus_get(runs[i < 3 ? 0 : 1], i, a, 64, &la));
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la * sizeof *a);
    shortest = lb < shortest ? lb : shortest, longest = lb > longest ? lb : longest;
  }
  assert_true(shortest < longest); /* lanes did finish at different steps */
  few = runs[0], many = runs[2];
  anbn_corpus_destroy(runs[1]);
  print_message("greedy: 8 samples, %zu tokens, each equal to stepping; sampled: lengths %zu..%zu, the same beside 3, 1100 "
                "or 1500 others\n", lengths, shortest, longest);
  anbn_corpus_destroy(out), anbn_corpus_destroy(few), anbn_corpus_destroy(many);
  anbn_corpus_destroy(train), anbn_corpus_destroy(valid);
  anbn_destroy(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_generate_lanes),
      cmocka_unit_test(test_counter_capacity),
      cmocka_unit_test(test_counter_spot_checks),
      cmocka_unit_test(test_rows_match_probe),
      cmocka_unit_test(test_counter_evaluate_and_probe),
      cmocka_unit_test(test_always_one),
      cmocka_unit_test(test_diagnose_counter),
  };
  return cmocka_run_group_tests_name("eval", tests, NULL, NULL);
}
