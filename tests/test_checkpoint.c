/* Checkpoints: exact round trip and resume, and every kind of broken file. */
#include <dirent.h>
#include <math.h>
#include <unistd.h>

#include "anbn_test.h"

typedef struct {
  char dir[64];
  char path[128];
  anbn_corpus *train, *valid;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  strcpy(f->dir, "/tmp/anbn-ckpt-XXXXXX");
  if (!mkdtemp(f->dir)) return -1;
  snprintf(f->path, sizeof f->path, "%s/m.safetensors", f->dir);
  assert_anbn_ok(anbn_corpus_seed(ANBN_LANG_ANBN, 2, &f->train, &f->valid));
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  DIR *d = opendir(f->dir);
  struct dirent *e;
  char p[512];
  while (d && (e = readdir(d)))
    if (e->d_name[0] != '.') snprintf(p, sizeof p, "%s/%s", f->dir, e->d_name), unlink(p);
  if (d) closedir(d);
  rmdir(f->dir);
  anbn_corpus_destroy(f->train);
  anbn_corpus_destroy(f->valid);
  free(f);
  return 0;
}

/* A safetensors file with the given header text and `data` zero bytes. */
static void write_st(const char *path, const char *header, size_t data) {
  const uint64_t n = strlen(header);
  size_t size = 8 + n + data;
  unsigned char *buf = calloc(1, size);
  for (int i = 0; i < 8; ++i) buf[i] = (unsigned char)(n >> (8 * i));
  memcpy(buf + 8, header, n);
  test_write_file(path, buf, size);
  free(buf);
}

static void roundtrip(fixture *f, anbn_cell cell, int layers) {
  anbn_model *a = test_model(cell, 3, layers, 9), *b = NULL;
  anbn_config ca = {.struct_size = sizeof ca}, cb = {.struct_size = sizeof cb};
  assert_anbn_ok(anbn_model_get_config(a, &ca));
  ca.clip_norm = 0.5f, ca.lr = 2e-3f;
  assert_anbn_ok(anbn_model_set_training(a, &ca));
  assert_anbn_ok(anbn_train_epoch(a, f->train, NULL, NULL, NULL));
  assert_anbn_ok(anbn_save(a, f->path));
  assert_anbn_ok(anbn_load(f->path, "ref", &b));
  assert_anbn_ok(anbn_model_get_config(b, &cb));
  assert_true(cb.clip_norm == 0.5f && cb.lr == 2e-3f);  /* training settings travel too */
  size_t n;
  float *pa = test_params(a, &n), *pb = test_params(b, &n);
  assert_memory_equal(pa, pb, n * sizeof(float));
  anbn_model_info ia, ib;
  assert_anbn_ok(anbn_model_get_info(a, &ia));
  assert_anbn_ok(anbn_model_get_info(b, &ib));
  assert_int_equal(ia.epoch, ib.epoch);
  assert_int_equal(ia.adam_step, ib.adam_step);
  assert_int_equal(ia.cell, ib.cell);
  assert_int_equal(ia.layers, ib.layers);
  /* resume exactly: Adam moments, step and shuffling order all travel */
  anbn_epoch_stats sa = {.struct_size = sizeof sa}, sb = {.struct_size = sizeof sb};
  assert_anbn_ok(anbn_train_epoch(a, f->train, NULL, NULL, &sa));
  assert_anbn_ok(anbn_train_epoch(b, f->train, NULL, NULL, &sb));
  free(pa), free(pb);
  pa = test_params(a, &n), pb = test_params(b, &n);
  assert_memory_equal(pa, pb, n * sizeof(float));
  assert_true(sa.mean_loss == sb.mean_loss);
  print_message("[%s x%d] resumed epoch loss %.6f on both\n", anbn_cell_name(cell), layers, sa.mean_loss);
  free(pa), free(pb);
  anbn_destroy(a), anbn_destroy(b);
}

static void test_roundtrip_and_resume(void **state) {
  fixture *f = *state;
  roundtrip(f, ANBN_CELL_RNN_TANH, 1);
  roundtrip(f, ANBN_CELL_LSTM, 2);
  roundtrip(f, ANBN_CELL_GRU, 2);
  roundtrip(f, ANBN_CELL_PEEPHOLE, 2);
}

static void test_missing_and_unwritable(void **state) {
  fixture *f = *state;
  anbn_model *m = test_model(ANBN_CELL_RNN_TANH, 2, 1, 1), *out = NULL;
  assert_anbn_status(anbn_load("/nonexistent/m.safetensors", NULL, &out), ANBN_ERR_IO);
  assert_anbn_status(anbn_save(m, "/nonexistent/dir/m.safetensors"), ANBN_ERR_IO);
  assert_anbn_status(anbn_load(f->dir, NULL, &out), ANBN_ERR_IO); /* a directory */
  assert_anbn_ok(anbn_save(m, f->path));
  assert_anbn_status(anbn_load(f->path, "no-such-backend", &out), ANBN_ERR_BACKEND_UNAVAILABLE);
  assert_null(out);
  /* saving over an existing checkpoint replaces it, leaving no temp files */
  assert_anbn_ok(anbn_train_epoch(m, f->train, NULL, NULL, NULL));
  assert_anbn_ok(anbn_save(m, f->path));
  DIR *d = opendir(f->dir);
  struct dirent *e;
  int files = 0;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') files++;
  closedir(d);
  assert_int_equal(files, 1);
  assert_anbn_ok(anbn_load(f->path, NULL, &out));
  anbn_model_info i;
  assert_anbn_ok(anbn_model_get_info(out, &i));
  assert_int_equal(i.epoch, 1);
  anbn_destroy(out);
  anbn_destroy(m);
}

static void test_every_truncation(void **state) {
  fixture *f = *state;
  anbn_model *m = test_model(ANBN_CELL_LSTM, 2, 1, 1), *out = NULL;
  assert_anbn_ok(anbn_save(m, f->path));
  size_t size;
  char *good = test_read_file(f->path, &size);
  char bad[160];
  snprintf(bad, sizeof bad, "%s/bad.safetensors", f->dir);
  for (size_t cut = 0; cut < size; ++cut) {
    test_write_file(bad, good, cut);
    anbn_status rc = anbn_load(bad, NULL, &out);
    if (rc != ANBN_ERR_FORMAT) fail_msg("truncated to %zu of %zu bytes: %s", cut, size, anbn_status_string(rc));
    assert_null(out);
  }
  /* one byte too many is as wrong as one too few */
  char *longer = malloc(size + 1);
  memcpy(longer, good, size);
  longer[size] = 0;
  test_write_file(bad, longer, size + 1);
  assert_anbn_status(anbn_load(bad, NULL, &out), ANBN_ERR_FORMAT);
  free(longer);
  free(good);
  anbn_destroy(m);
}

static void corrupt_header(fixture *f, const char *from, const char *to) {
  size_t size;
  char *buf = test_read_file(f->path, &size);
  buf[size] = 0;
  char *at = strstr(buf + 8, from);
  assert_non_null(at);
  assert_int_equal(strlen(from), strlen(to));
  memcpy(at, to, strlen(to));
  char bad[160];
  snprintf(bad, sizeof bad, "%s/bad.safetensors", f->dir);
  test_write_file(bad, buf, size);
  anbn_model *out = NULL;
  assert_anbn_status(anbn_load(bad, NULL, &out), ANBN_ERR_FORMAT);
  print_message("  %s -> %s: %s\n", from, to, anbn_last_error());
  assert_null(out);
  free(buf);
}

static void test_hostile_files(void **state) {
  fixture *f = *state;
  anbn_model *m = test_model(ANBN_CELL_GRU, 2, 1, 1), *out = NULL;
  assert_anbn_ok(anbn_save(m, f->path));
  corrupt_header(f, "\"F32\"", "\"F16\"");
  corrupt_header(f, "\"shape\":[4,2]", "\"shape\":[2,4]");
  corrupt_header(f, "\"embedding.weight\"", "\"embedding.weighz\"");
  corrupt_header(f, "\"hidden\\\":2", "\"hidden\\\":0");
  corrupt_header(f, "\"cell\\\":\\\"gru\\\"", "\"cell\\\":\\\"grr\\\"");
  corrupt_header(f, "\"optimizer.step\":\"0\"", "\"optimizer.step\":\"x\"");
  char bad[160];
  snprintf(bad, sizeof bad, "%s/bad.safetensors", f->dir);
  /* a header size far beyond the file: no allocation of that size */
  unsigned char huge[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, '{', '}'};
  test_write_file(bad, huge, sizeof huge);
  assert_anbn_status(anbn_load(bad, NULL, &out), ANBN_ERR_FORMAT);
  write_st(bad, "not json at all", 0);
  assert_anbn_status(anbn_load(bad, NULL, &out), ANBN_ERR_FORMAT);
  write_st(bad, "[1,2,3]", 0);
  assert_anbn_status(anbn_load(bad, NULL, &out), ANBN_ERR_FORMAT);
  /* a nesting bomb must not recurse the parser to death */
  char *deep = malloc(200001);
  for (int i = 0; i < 100000; ++i) deep[i] = '[', deep[200000 - 1 - i] = ']';
  deep[200000] = 0;
  write_st(bad, deep, 0);
  assert_anbn_status(anbn_load(bad, NULL, &out), ANBN_ERR_FORMAT);
  free(deep);
  /* tensor data outside the file */
  write_st(bad, "{\"embedding.weight\":{\"dtype\":\"F32\",\"shape\":[4,2],\"data_offsets\":[0,4000000]}}", 32);
  assert_anbn_status(anbn_load(bad, NULL, &out), ANBN_ERR_FORMAT);
  /* a shape whose element count overflows */
  write_st(bad, "{\"embedding.weight\":{\"dtype\":\"F32\",\"shape\":[1073741824,1073741824],\"data_offsets\":[0,32]}}", 32);
  assert_anbn_status(anbn_load(bad, NULL, &out), ANBN_ERR_FORMAT);
  /* negative dimension, offsets reversed */
  write_st(bad, "{\"embedding.weight\":{\"dtype\":\"F32\",\"shape\":[-4,2],\"data_offsets\":[0,32]}}", 32);
  assert_anbn_status(anbn_load(bad, NULL, &out), ANBN_ERR_FORMAT);
  write_st(bad, "{\"embedding.weight\":{\"dtype\":\"F32\",\"shape\":[4,2],\"data_offsets\":[32,0]}}", 32);
  assert_anbn_status(anbn_load(bad, NULL, &out), ANBN_ERR_FORMAT);
  /* consistent file, but only half a model */
  write_st(bad, "{\"embedding.weight\":{\"dtype\":\"F32\",\"shape\":[4,2],\"data_offsets\":[0,32]}}", 32);
  assert_anbn_status(anbn_load(bad, NULL, &out), ANBN_ERR_FORMAT);
  /* a NaN in the weights */
  size_t size;
  char *buf = test_read_file(f->path, &size);
  const float nan = NAN;
  memcpy(buf + size - 4 * 1, &nan, 4); /* last float: an optimizer moment */
  test_write_file(bad, buf, size);
  assert_anbn_status(anbn_load(bad, NULL, &out), ANBN_ERR_FORMAT);
  free(buf);
  assert_null(out);
  anbn_destroy(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_roundtrip_and_resume, setup, teardown),
      cmocka_unit_test_setup_teardown(test_missing_and_unwritable, setup, teardown),
      cmocka_unit_test_setup_teardown(test_every_truncation, setup, teardown),
      cmocka_unit_test_setup_teardown(test_hostile_files, setup, teardown),
  };
  return cmocka_run_group_tests_name("checkpoint", tests, NULL, NULL);
}
