/* Every available backend against ref, from the same initial bits and the
 * same batches, with the tolerances of DESIGN.md §6; each case prints the
 * worst difference it saw.  A backend that is not built is skipped and says so. */
#include <math.h>
#include <unistd.h>

#include "anbn_test.h"

#define FORWARD_TOL 1e-5   /* log-probs, states, gates: max abs */
#define GRAD_TOL 1e-5      /* gradients: max abs relative to the largest */
#define EPOCH_LOSS_TOL 1e-4 /* relative */
#define EPOCH_PARAM_TOL 1e-3

static const char *g_backends[16];
static size_t g_nbackends;

static anbn_model *make(const char *backend, anbn_cell cell, int layers, int batch, uint64_t seed) {
  anbn_config c;
  anbn_config_init(&c);
  c.backend = backend, c.cell = cell, c.layers = layers, c.batch_size = batch, c.seed = seed;
  c.hidden = layers == 1 ? 2 : 5; /* the seed's size, and a wider stacked one */
  anbn_model *m = NULL;
  assert_anbn_ok(anbn_create(&c, &m));
  return m;
}

static double probe_diff(anbn_model *a, anbn_model *b, const int32_t *seq, size_t T) {
  anbn_model_info i = {.struct_size = sizeof i};
  assert_anbn_ok(anbn_model_get_info(a, &i));
  const size_t O = (size_t)i.output_size, LH = (size_t)(i.layers * i.hidden), LG = LH * (size_t)i.gates;
  float *buf[2][4];
  anbn_probe_buffers pb[2];
  for (int k = 0; k < 2; ++k) {
    anbn_probe_buffers_init(&pb[k]);
    buf[k][0] = calloc(T * O, 4), buf[k][1] = calloc(T * LH, 4), buf[k][2] = calloc(T * LH, 4), buf[k][3] = calloc(T * LG, 4);
    pb[k].log_probs = buf[k][0], pb[k].log_probs_count = T * O;
    pb[k].hidden = buf[k][1], pb[k].hidden_count = T * LH;
    if (i.has_cell_state) pb[k].cell = buf[k][2], pb[k].cell_count = T * LH;
    if (i.gates > 1) pb[k].gates = buf[k][3], pb[k].gates_count = T * LG;
  }
  assert_anbn_ok(anbn_probe(a, seq, T, &pb[0]));
  assert_anbn_ok(anbn_probe(b, seq, T, &pb[1]));
  double w = max_abs_diff(buf[0][0], buf[1][0], T * O);
  w = fmax(w, max_abs_diff(buf[0][1], buf[1][1], T * LH));
  w = fmax(w, max_abs_diff(buf[0][2], buf[1][2], T * LH));
  w = fmax(w, max_abs_diff(buf[0][3], buf[1][3], T * LG));
  for (int k = 0; k < 2; ++k)
    for (int j = 0; j < 4; ++j) free(buf[k][j]);
  return w;
}

static void compare_backend(const char *backend, anbn_cell cell, int layers, int batch) {
  anbn_corpus *train, *valid;
  assert_anbn_ok(anbn_corpus_seed(ANBN_LANG_ANBN, 3, &train, &valid));
  anbn_model *r = make("ref", cell, layers, batch, 11), *o = make(backend, cell, layers, batch, 11);
  size_t n;
  float *pr = test_params(r, &n), *po = test_params(o, &n);
  assert_memory_equal(pr, po, n * sizeof(float)); /* same initial bits */
  free(pr), free(po);

  /* forward: log-probs, hidden and cell states, gates */
  int32_t seq[64];
  size_t len;
  double fwd = 0;
  for (int k = 0; k <= 12; k += 3) {
    assert_anbn_ok(anbn_language_sequence(ANBN_LANG_ANBN, k, seq, 64, &len));
    fwd = fmax(fwd, probe_diff(r, o, seq, len - 1));
  }
  /* stepping from a carried state goes through the backend's initial states */
  anbn_state *sr, *so;
  assert_anbn_ok(anbn_state_create(r, &sr));
  assert_anbn_ok(anbn_state_create(o, &so));
  for (size_t t = 0; t + 1 < len; ++t) {
    float lr[3], lo[3];
    assert_anbn_ok(anbn_step(r, sr, seq[t], lr));
    assert_anbn_ok(anbn_step(o, so, seq[t], lo));
    fwd = fmax(fwd, max_abs_diff(lr, lo, 3));
  }
  anbn_state_destroy(sr), anbn_state_destroy(so);

  /* gradients of one sequence */
  float *gr = malloc(n * 4), *go = malloc(n * 4);
  double lossr, losso, gmax = 0, gd = 0;
  assert_anbn_ok(anbn_language_sequence(ANBN_LANG_ANBN, 6, seq, 64, &len));
  assert_anbn_ok(anbn_gradients(r, seq, len, gr, n, &lossr));
  assert_anbn_ok(anbn_gradients(o, seq, len, go, n, &losso));
  for (size_t i = 0; i < n; ++i) gmax = fmax(gmax, fabs(gr[i]));
  gd = max_abs_diff(gr, go, n) / gmax;
  free(gr), free(go);

  /* one train_batch (a one-sequence corpus), then a full seed epoch */
  const size_t one_len = len;
  anbn_corpus *one;
  assert_anbn_ok(anbn_corpus_from_tokens(2, seq, &one_len, 1, &one));
  assert_anbn_ok(anbn_train_epoch(r, one, NULL, NULL, NULL));
  assert_anbn_ok(anbn_train_epoch(o, one, NULL, NULL, NULL));
  pr = test_params(r, &n), po = test_params(o, &n);
  const double step1 = max_abs_diff(pr, po, n);
  free(pr), free(po);
  anbn_epoch_stats er = {.struct_size = sizeof er}, eo = {.struct_size = sizeof eo};
  assert_anbn_ok(anbn_train_epoch(r, train, NULL, NULL, &er));
  assert_anbn_ok(anbn_train_epoch(o, train, NULL, NULL, &eo));
  assert_int_equal(er.batches, eo.batches); /* the core made the same batches */
  pr = test_params(r, &n), po = test_params(o, &n);
  const double epoch_p = max_abs_diff(pr, po, n), epoch_l = fabs(er.mean_loss - eo.mean_loss) / er.mean_loss;
  free(pr), free(po);
  anbn_eval_stats vr, vo;
  assert_anbn_ok(anbn_evaluate(r, valid, &vr));
  assert_anbn_ok(anbn_evaluate(o, valid, &vo));

  print_message("[%s %s x%d batch %d] forward %.2e  grad %.2e (rel)  1 step %.2e  epoch: loss %.2e (rel) params %.2e"
                "  valid loss %.6f/%.6f\n",
                backend, anbn_cell_name(cell), layers, batch, fwd, gd, step1, epoch_l, epoch_p, vr.mean_loss,
                vo.mean_loss);
  assert_true(fwd <= FORWARD_TOL);
  assert_true(gd <= GRAD_TOL);
  assert_true(step1 <= EPOCH_PARAM_TOL);
  assert_true(epoch_l <= EPOCH_LOSS_TOL);
  assert_true(epoch_p <= EPOCH_PARAM_TOL);
  anbn_corpus_destroy(one), anbn_corpus_destroy(train), anbn_corpus_destroy(valid);
  anbn_destroy(r), anbn_destroy(o);
}

static void run_cell(anbn_cell cell) {
  if (g_nbackends == 0) skip();
  for (size_t b = 0; b < g_nbackends; ++b)
    for (int layers = 1; layers <= 2; ++layers)
      for (int batch = 1; batch <= 16; batch += 15) compare_backend(g_backends[b], cell, layers, batch);
}

static void test_rnn(void **state) { (void)state; run_cell(ANBN_CELL_RNN_TANH); }
static void test_lstm(void **state) { (void)state; run_cell(ANBN_CELL_LSTM); }
static void test_gru(void **state) { (void)state; run_cell(ANBN_CELL_GRU); }
static void test_peephole(void **state) { (void)state; run_cell(ANBN_CELL_PEEPHOLE); }

/* Gradient clipping (torch.nn.utils.clip_grad_norm_ before each step) agrees too. */
static void test_clipping(void **state) {
  (void)state;
  if (g_nbackends == 0) skip();
  anbn_corpus *train, *valid;
  assert_anbn_ok(anbn_corpus_seed(ANBN_LANG_ANBN, 6, &train, &valid));
  for (size_t b = 0; b < g_nbackends; ++b) {
    anbn_model *r = make("ref", ANBN_CELL_LSTM, 1, 1, 2), *o = make(g_backends[b], ANBN_CELL_LSTM, 1, 1, 2);
    anbn_model *u = make("ref", ANBN_CELL_LSTM, 1, 1, 2);  /* unclipped: clipping must change something */
    anbn_config c = {.struct_size = sizeof c}; /* an output: its size set */
    anbn_model *all[3] = {r, o, u};
    for (int k = 0; k < 2; ++k) {
      assert_anbn_ok(anbn_model_get_config(all[k], &c));
      c.clip_norm = 0.05f;
      assert_anbn_ok(anbn_model_set_training(all[k], &c));
    }
    for (int k = 0; k < 3; ++k) assert_anbn_ok(anbn_train_epoch(all[k], train, NULL, NULL, NULL));
    size_t n;
    float *pr = test_params(r, &n), *po = test_params(o, &n), *pu = test_params(u, &n);
    const double d = max_abs_diff(pr, po, n), effect = max_abs_diff(pr, pu, n);
    print_message("[%s clip 0.05] epoch params %.2e (clipping moved ref by %.2e)\n", g_backends[b], d, effect);
    assert_true(d <= EPOCH_PARAM_TOL);
    assert_true(effect > 1e-3);
    free(pr), free(po), free(pu);
    anbn_destroy(r), anbn_destroy(o), anbn_destroy(u);
  }
  anbn_corpus_destroy(train), anbn_corpus_destroy(valid);
}

/* A checkpoint moves between backends losing nothing, optimizer state included. */
static void test_checkpoints_cross_backends(void **state) {
  (void)state;
  if (g_nbackends == 0) skip();
  char path[] = "/tmp/anbn-parity-XXXXXX";
  int fd = mkstemp(path);
  close(fd);
  anbn_corpus *train, *valid;
  assert_anbn_ok(anbn_corpus_seed(ANBN_LANG_ANBN, 5, &train, &valid));
  for (size_t b = 0; b < g_nbackends; ++b)
    for (int dir = 0; dir < 2; ++dir) {
      const char *from = dir ? "ref" : g_backends[b], *to = dir ? g_backends[b] : "ref";
      anbn_model *a = make(from, ANBN_CELL_LSTM, 2, 1, 3), *c = NULL;
      assert_anbn_ok(anbn_train_epoch(a, train, NULL, NULL, NULL));
      assert_anbn_ok(anbn_save(a, path));
      assert_anbn_ok(anbn_load(path, to, &c));
      anbn_model_info ia, ic;
      assert_anbn_ok(anbn_model_get_info(a, &ia));
      assert_anbn_ok(anbn_model_get_info(c, &ic));
      assert_string_equal(ic.backend, to);
      assert_int_equal(ia.adam_step, ic.adam_step);
      assert_int_equal(ia.epoch, ic.epoch);
      size_t n;
      float *pa = test_params(a, &n), *pc = test_params(c, &n);
      assert_memory_equal(pa, pc, n * 4); /* exact: the layouts convert by permutation only */
      free(pa), free(pc);
      /* a second save from the loaded model holds the same Adam moments: compare the files' bytes */
      char path2[64];
      snprintf(path2, sizeof path2, "%s.2", path);
      assert_anbn_ok(anbn_save(c, path2));
      FILE *f1 = fopen(path, "rb"), *f2 = fopen(path2, "rb");
      fseek(f1, 0, SEEK_END), fseek(f2, 0, SEEK_END);
      const long s1 = ftell(f1), s2 = ftell(f2);
      assert_int_equal(s1, s2);
      char *b1 = malloc((size_t)s1), *b2 = malloc((size_t)s2);
      fseek(f1, 0, SEEK_SET), fseek(f2, 0, SEEK_SET);
      assert_int_equal(fread(b1, 1, (size_t)s1, f1), (size_t)s1);
      assert_int_equal(fread(b2, 1, (size_t)s2, f2), (size_t)s2);
      assert_memory_equal(b1, b2, (size_t)s1);
      free(b1), free(b2), fclose(f1), fclose(f2), unlink(path2);
      /* and both continue alike */
      anbn_epoch_stats ea = {.struct_size = sizeof ea}, ec = {.struct_size = sizeof ec};
      assert_anbn_ok(anbn_train_epoch(a, train, NULL, NULL, &ea));
      assert_anbn_ok(anbn_train_epoch(c, train, NULL, NULL, &ec));
      pa = test_params(a, &n), pc = test_params(c, &n);
      const double d = max_abs_diff(pa, pc, n);
      print_message("[%s -> %s] resumed epoch: loss %.6f vs %.6f, params %.2e\n", from, to, ea.mean_loss, ec.mean_loss, d);
      assert_true(d <= EPOCH_PARAM_TOL);
      assert_true(fabs(ea.mean_loss - ec.mean_loss) / ea.mean_loss <= EPOCH_LOSS_TOL);
      free(pa), free(pc);
      anbn_destroy(a), anbn_destroy(c);
    }
  unlink(path);
  anbn_corpus_destroy(train), anbn_corpus_destroy(valid);
}

/* A backend that cannot run here (torch-cuda without a GPU) says why and never
 * falls back to another device. */
static void test_unavailable_backends_refuse(void **state) {
  (void)state;
  size_t n = 0, refused = 0;
  assert_anbn_ok(anbn_backend_count(&n));
  for (size_t i = 0; i < n; ++i) {
    anbn_backend_info b;
    assert_anbn_ok(anbn_backend_get(i, &b));
    if (b.available) continue;
    anbn_config c;
    anbn_config_init(&c);
    c.backend = b.name;
    anbn_model *m = NULL;
    assert_anbn_status(anbn_create(&c, &m), ANBN_ERR_BACKEND_UNAVAILABLE);
    assert_null(m);
    assert_non_null(strstr(anbn_last_error(), b.reason));
    if (!strcmp(b.name, "torch-cuda") && b.path[0]) assert_non_null(strstr(b.reason, "CUDA"));
    print_message("%s refused: %s\n", b.name, anbn_last_error());
    refused++;
  }
  if (!refused) skip();
}

int main(void) {
  size_t n = 0;
  if (anbn_backend_count(&n) != ANBN_OK) return 1;
  for (size_t i = 0; i < n && g_nbackends < 16; ++i) {
    anbn_backend_info b;
    if (anbn_backend_get(i, &b) != ANBN_OK) return 1;
    if (!strcmp(b.name, "ref")) continue;
    if (b.available) g_backends[g_nbackends++] = b.name;
    else printf("parity: %s skipped: %s\n", b.name, b.reason);
  }
  if (g_nbackends == 0) printf("parity: no backend besides ref is available; every case is skipped\n");
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rnn),
      cmocka_unit_test(test_lstm),
      cmocka_unit_test(test_gru),
      cmocka_unit_test(test_peephole),
      cmocka_unit_test(test_checkpoints_cross_backends),
      cmocka_unit_test(test_clipping),
      cmocka_unit_test(test_unavailable_backends_refuse),
  };
  return cmocka_run_group_tests_name("parity", tests, NULL, NULL);
}
