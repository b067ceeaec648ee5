/* ref's backpropagation through time against central finite differences,
 * for every cell with 2 stacked layers.  The loss is computed in double from
 * float parameters, so a Richardson-extrapolated central difference
 * (error O(h^4)) is accurate far below the 1e-6 tolerance. */
#include <math.h>

#include "anbn_test.h"

#define TOL 1e-6

static double loss_at(anbn_model *m, const int32_t *seq, size_t len) {
  double loss = 0;
  assert_anbn_ok(anbn_gradients(m, seq, len, NULL, 0, &loss));
  return loss;
}

/* Sets flat parameter i (in a copy of all of them) and pushes it to the model. */
typedef struct {
  anbn_model *m;
  size_t count;
  const char **names;
  size_t *offsets, *numels;
} layout;

static void set_flat(layout *L, float *all, size_t i, float value) {
  for (size_t k = 0; k < L->count; ++k)
    if (i < L->offsets[k] + L->numels[k]) {
      all[i] = value;
      assert_anbn_ok(anbn_param_set(L->m, L->names[k], all + L->offsets[k], L->numels[k]));
      return;
    }
}

static double central(layout *L, float *all, size_t i, float p, double h, const int32_t *seq, size_t len) {
  const float a = (float)(p + h), b = (float)(p - h);
  set_flat(L, all, i, a);
  const double fa = loss_at(L->m, seq, len);
  set_flat(L, all, i, b);
  const double fb = loss_at(L->m, seq, len);
  set_flat(L, all, i, p);
  return (fa - fb) / ((double)a - (double)b);
}

static void gradcheck(anbn_cell cell) {
  anbn_model *m = test_model(cell, 3, 2, 7);
  const int32_t seq[] = {3, 0, 0, 0, 1, 1, 1, 2};
  const size_t len = sizeof seq / sizeof *seq;
  layout L = {m, 0, NULL, NULL, NULL};
  assert_anbn_ok(anbn_param_count(m, &L.count));
  L.names = calloc(L.count, sizeof *L.names);
  L.offsets = calloc(L.count, sizeof *L.offsets);
  L.numels = calloc(L.count, sizeof *L.numels);
  size_t total = 0;
  for (size_t k = 0; k < L.count; ++k) {
    assert_anbn_ok(anbn_param_info(m, k, &L.names[k], NULL, NULL, &L.numels[k]));
    L.offsets[k] = total;
    total += L.numels[k];
  }
  size_t n;
  float *all = test_params(m, &n);
  assert_int_equal(n, total);
  float *grad = malloc(n * sizeof *grad);
  double loss;
  assert_anbn_ok(anbn_gradients(m, seq, len, grad, n, &loss));
  double gmax = 0;
  for (size_t i = 0; i < n; ++i) gmax = fmax(gmax, fabs(grad[i]));
  double worst = 0;
  size_t worst_i = 0;
  const double h = 0x1p-7;
  for (size_t i = 0; i < n; ++i) {
    const float p = all[i];
    const double d1 = central(&L, all, i, p, h, seq, len), d2 = central(&L, all, i, p, h / 2, seq, len);
    const double fd = (4.0 * d2 - d1) / 3.0;
    /* relative to the component, floored at 1e-3 of the largest gradient so
     * that (near-)zero components are judged on the scale of the gradient */
    const double rel = fabs(fd - grad[i]) / fmax(fmax(fabs(fd), fabs((double)grad[i])), 1e-3 * gmax);
    if (rel > worst) worst = rel, worst_i = i;
  }
  print_message("[%s, 2 layers, %zu parameters] loss %.6f, worst relative error %.3e at #%zu (tol %g)\n",
                anbn_cell_name(cell), n, loss, worst, worst_i, TOL);
  assert_true(worst < TOL);
  free(all), free(grad), free(L.names), free(L.offsets), free(L.numels);
  anbn_destroy(m);
}

static void test_rnn(void **state) { (void)state; gradcheck(ANBN_CELL_RNN_TANH); }
static void test_lstm(void **state) { (void)state; gradcheck(ANBN_CELL_LSTM); }
static void test_gru(void **state) { (void)state; gradcheck(ANBN_CELL_GRU); }
static void test_peephole(void **state) { (void)state; gradcheck(ANBN_CELL_PEEPHOLE); }

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rnn),
      cmocka_unit_test(test_lstm),
      cmocka_unit_test(test_gru),
      cmocka_unit_test(test_peephole),
  };
  return cmocka_run_group_tests_name("gradcheck", tests, NULL, NULL);
}
