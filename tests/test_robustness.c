/* What an embedding application does to the library: hostile files, bad
 * calls, full and read-only disks.  Each test names the finding it covers
 * (issue "The library survives what an embedding application does"). */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <math.h>
#include <unistd.h>

#include "anbn_test.h"

static char g_dir[256];

static int setup_dir(void **state) {
  (void)state;
  snprintf(g_dir, sizeof g_dir, "%s/anbn-robust-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown_dir(void **state) {
  (void)state;
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
  return system(cmd) == 0 ? 0 : -1;
}

static const char *in_dir(const char *name) {
  static char path[4][1024];
  static int k;
  k = (k + 1) % 4;
  snprintf(path[k], sizeof path[k], "%s/%s", g_dir, name);
  return path[k];
}

static int entries(const char *dir) {
  DIR *d = opendir(dir);
  int n = 0;
  for (struct dirent *e; d && (e = readdir(d));) n += e->d_name[0] != '.' || strncmp(e->d_name, ".anbn", 5) == 0;
  if (d) closedir(d);
  return n;
}

/* Rewrites a checkpoint's JSON header by replacing `from` with `to`. */
static void edit_header(const char *src, const char *dst, const char *from, const char *to) {
  size_t n;
  char *b = test_read_file(src, &n);
  assert_non_null(b);
  uint64_t h = 0;
  for (int i = 0; i < 8; ++i) h |= (uint64_t)(unsigned char)b[i] << (8 * i);
  char *hdr = strndup(b + 8, h);
  char *at = strstr(hdr, from);
  assert_non_null(at);
  size_t nh = h - strlen(from) + strlen(to);
  char *out = malloc(n + strlen(to) + 16);
  memcpy(out + 8, hdr, (size_t)(at - hdr));
  memcpy(out + 8 + (at - hdr), to, strlen(to));
  memcpy(out + 8 + (at - hdr) + strlen(to), at + strlen(from), h - (size_t)(at - hdr) - strlen(from));
  for (int i = 0; i < 8; ++i) out[i] = (char)((nh >> (8 * i)) & 0xff);
  memcpy(out + 8 + nh, b + 8 + h, n - 8 - h);
  test_write_file(dst, out, 8 + nh + n - 8 - h);
  free(b), free(hdr), free(out);
}

static long max_rss_kib(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

/* 2. START as a target: tokens are in the vocabulary, targets must be < k+1. */
static void test_start_is_never_a_target(void **state) {
  (void)state;
  const int32_t seq[] = {3, 0, 1, 3};
  for (const char *const *b = (const char *const[]){"ref", "onednn", NULL}; *b; ++b) {
    anbn_backend_info info;
    if (anbn_backend_find(*b, &info) != ANBN_OK || !info.available) continue;
    anbn_config c;
    anbn_config_init(&c);
    c.backend = *b;
    c.cell = ANBN_CELL_LSTM;
    anbn_model *m;
    assert_anbn_ok(anbn_create(&c, &m));
    double loss;
    assert_anbn_status(anbn_gradients(m, seq, 4, NULL, 0, &loss), ANBN_ERR_INVALID_ARGUMENT);
    anbn_destroy(m);
  }
}

/* 11. The same divergence is ANBN_ERR_NUMERIC on every backend, with the
 * model unchanged (torch-cpu said BACKEND_FAILURE: its Adam threw). */
static void test_divergence_is_numeric_everywhere(void **state) {
  (void)state;
  anbn_corpus *t, *v;
  assert_anbn_ok(anbn_corpus_seed(ANBN_LANG_ANBN, 1, &t, &v));
  for (const char *const *b = (const char *const[]){"ref", "onednn", "torch-cpu", NULL}; *b; ++b) {
    anbn_backend_info info;
    if (anbn_backend_find(*b, &info) != ANBN_OK || !info.available) {
      print_message("divergence: %s not available here\n", *b);
      continue;
    }
    anbn_config c;
    anbn_config_init(&c);
    c.backend = *b, c.cell = ANBN_CELL_LSTM, c.lr = 3e38f;
    anbn_model *m;
    assert_anbn_ok(anbn_create(&c, &m));
    size_t n;
    float *before = test_params(m, &n);
    assert_anbn_status(anbn_train_epoch(m, t, NULL, NULL, NULL), ANBN_ERR_NUMERIC);
    float *after = test_params(m, &n);
    assert_memory_equal(before, after, n * sizeof(float));
    free(before), free(after);
    anbn_destroy(m);
  }
  anbn_corpus_destroy(t), anbn_corpus_destroy(v);
}

/* 11. gradients where float32 overflows: either NUMERIC or OK with a finite
 * loss and gradient, never OK with a NaN loss and a stale gradient (onednn
 * returned the previous call's).  ref, in double, does not overflow here. */
static void test_gradients_of_a_nan_loss(void **state) {
  (void)state;
  const int32_t seq[] = {3, 0, 1, 2};
  for (const char *const *b = (const char *const[]){"ref", "onednn", "torch-cpu", NULL}; *b; ++b) {
    anbn_backend_info info;
    if (anbn_backend_find(*b, &info) != ANBN_OK || !info.available) continue;
    anbn_config c;
    anbn_config_init(&c);
    c.backend = *b, c.cell = ANBN_CELL_LSTM;
    anbn_model *m;
    assert_anbn_ok(anbn_create(&c, &m));
    float *grad = calloc(4096, sizeof *grad);
    double loss;
    assert_anbn_ok(anbn_gradients(m, seq, 4, grad, 4096, &loss)); /* a good one first */
    const float huge[6] = {3e38f, 3e38f, -3e38f, 3e38f, -3e38f, 3e38f}, bias[3] = {3e38f, -3e38f, 3e38f};
    assert_anbn_ok(anbn_param_set(m, "fc.weight", huge, 6));
    assert_anbn_ok(anbn_param_set(m, "fc.bias", bias, 3));
    const anbn_status rc = anbn_gradients(m, seq, 4, grad, 4096, &loss);
    print_message("huge fc on %s: %s, loss %g\n", *b, anbn_status_string(rc), loss);
    if (rc == ANBN_OK) {
      assert_true(isfinite(loss));
      for (int i = 0; i < 4096; ++i) assert_true(isfinite(grad[i]));
    } else {
      assert_int_equal(rc, ANBN_ERR_NUMERIC);
    }
    free(grad);
    anbn_destroy(m);
  }
}

/* 3. A small file whose metadata claims a huge model: FORMAT, no big allocation. */
static void test_small_file_claiming_big_model(void **state) {
  (void)state;
  anbn_model *m = test_model(ANBN_CELL_LSTM, 2, 1, 1);
  assert_anbn_ok(anbn_save(m, in_dir("small.safetensors")));
  edit_header(in_dir("small.safetensors"), in_dir("big.safetensors"), "\\\"hidden\\\":2", "\\\"hidden\\\":8192");
  edit_header(in_dir("big.safetensors"), in_dir("big.safetensors"), "\\\"layers\\\":1", "\\\"layers\\\":4");
  const long before = max_rss_kib();
  anbn_model *out = NULL;
  assert_anbn_status(anbn_load(in_dir("big.safetensors"), "ref", &out), ANBN_ERR_FORMAT);
  assert_null(out);
  const long grew = max_rss_kib() - before;
  print_message("claimed H=8192 L=4 in a %s: peak RSS grew %ld KiB\n", "3 KiB file", grew);
  assert_true(grew < 16 * 1024);
  anbn_destroy(m);
}

/* 4. A truncated or non-ELF plugin: listed unusable with a reason, no SIGBUS. */
static void test_broken_plugin_files(void **state) {
  (void)state;
  char *saved = getenv("ANBN_BACKEND_PATH") ? strdup(getenv("ANBN_BACKEND_PATH")) : NULL;
  size_t n;
  char *exe = test_read_file("/proc/self/exe", &n); /* a real ELF shared object (PIE), cut short */
  assert_non_null(exe);
  test_write_file(in_dir("libanbn-trunc.so"), exe, 4096);
  char junk[200];
  memset(junk, '#', sizeof junk);
  test_write_file(in_dir("libanbn-junk.so"), junk, sizeof junk);
  test_write_file(in_dir("libanbn-empty.so"), "", 0);
  free(exe);
  setenv("ANBN_BACKEND_PATH", g_dir, 1);
  assert_anbn_ok(anbn_backend_rescan());
  const char *names[] = {"trunc", "junk", "empty"}, *why[] = {"truncated", "not an ELF", "too short"};
  for (int i = 0; i < 3; ++i) {
    anbn_backend_info info;
    assert_anbn_ok(anbn_backend_find(names[i], &info));
    assert_int_equal(info.available, 0);
    if (!strstr(info.reason, why[i])) fail_msg("%s: reason '%s' lacks '%s'", names[i], info.reason, why[i]);
    anbn_config c;
    anbn_config_init(&c);
    c.backend = names[i];
    anbn_model *m = NULL;
    assert_anbn_status(anbn_create(&c, &m), ANBN_ERR_BACKEND_UNAVAILABLE);
  }
  if (saved) setenv("ANBN_BACKEND_PATH", saved, 1), free(saved);
  else unsetenv("ANBN_BACKEND_PATH");
  assert_anbn_ok(anbn_backend_rescan());
}

/* 5. Values from a checkpoint: one rule, so what is saved loads and what
 * cannot be represented is refused. */
static void test_checkpoint_values(void **state) {
  (void)state;
  anbn_model *m = test_model(ANBN_CELL_RNN_TANH, 2, 1, 1), *out = NULL;
  anbn_config c = {.struct_size = sizeof c}; /* an output: its size set */
  assert_anbn_ok(anbn_model_get_config(m, &c));
  c.lr = 3e38f, c.clip_norm = 1e35f, c.eps = 1e30f;
  assert_anbn_ok(anbn_model_set_training(m, &c));
  assert_anbn_ok(anbn_save(m, in_dir("v.safetensors")));
  assert_anbn_ok(anbn_load(in_dir("v.safetensors"), "ref", &out)); /* saved -> loads */
  anbn_destroy(out);
  edit_header(in_dir("v.safetensors"), in_dir("seed.safetensors"), "\\\"seed\\\":1", "\\\"seed\\\":1.8e19");
  assert_anbn_status(anbn_load(in_dir("seed.safetensors"), "ref", &out), ANBN_ERR_FORMAT);
  edit_header(in_dir("v.safetensors"), in_dir("epoch.safetensors"), "\"anbn.epoch\":\"0\"",
              "\"anbn.epoch\":\"9223372036854775807\"");
  assert_anbn_status(anbn_load(in_dir("epoch.safetensors"), "ref", &out), ANBN_ERR_FORMAT);
  edit_header(in_dir("v.safetensors"), in_dir("step.safetensors"), "\"optimizer.step\":\"0\"",
              "\"optimizer.step\":\"9223372036854775807\"");
  assert_anbn_status(anbn_load(in_dir("step.safetensors"), "ref", &out), ANBN_ERR_FORMAT);
  /* 6. threads: 1024 in a file is clamped to the machine */
  edit_header(in_dir("v.safetensors"), in_dir("threads.safetensors"), "\\\"threads\\\":1", "\\\"threads\\\":1024");
  assert_anbn_ok(anbn_load(in_dir("threads.safetensors"), "ref", &out));
  anbn_config got = {.struct_size = sizeof got}; /* an output: its size set */
  assert_anbn_ok(anbn_model_get_config(out, &got));
  assert_true(got.threads >= 1 && got.threads <= sysconf(_SC_NPROCESSORS_ONLN));
  anbn_destroy(out);
  anbn_destroy(m);
}

/* 8. Reads that never end: FIFOs and devices are refused at once. */
static void test_fifo_and_devices_refused(void **state) {
  (void)state;
  assert_int_equal(mkfifo(in_dir("fifo"), 0600), 0);
  alarm(20); /* a hang fails the test instead of the CI run */
  anbn_model *m = NULL;
  anbn_corpus *c = NULL;
  assert_anbn_status(anbn_load(in_dir("fifo"), "ref", &m), ANBN_ERR_IO);
  assert_anbn_status(anbn_corpus_load(in_dir("fifo"), 2, &c), ANBN_ERR_IO);
  assert_anbn_status(anbn_corpus_load("/dev/zero", 2, &c), ANBN_ERR_IO);
  assert_anbn_status(anbn_corpus_load(g_dir, 2, &c), ANBN_ERR_IO);
  alarm(0);
}

/* 11. A NUL byte no longer ends a corpus line silently. */
static void test_corpus_nul_byte(void **state) {
  (void)state;
  test_write_file(in_dir("nul.txt"), "3 0 1 2\n3 0 0\0 1 1 2\n", 22);
  anbn_corpus *c = NULL;
  assert_anbn_status(anbn_corpus_load(in_dir("nul.txt"), 2, &c), ANBN_ERR_FORMAT);
  assert_non_null(strstr(anbn_last_error(), ":2:"));
}

/* 11. Bounds: absurd work is refused up front, overflowing positions too. */
static void test_bounds(void **state) {
  (void)state;
  const int32_t seq[] = {3, 0, 1, 2};
  int det;
  assert_anbn_status(anbn_language_deterministic(ANBN_LANG_ANBN, seq, 4, SIZE_MAX, &det), ANBN_ERR_INVALID_ARGUMENT);
  assert_anbn_status(anbn_language_deterministic(ANBN_LANG_ANBN, seq, SIZE_MAX, SIZE_MAX, &det), ANBN_ERR_INVALID_ARGUMENT);
  size_t len = 0;
  const long before = max_rss_kib();
  assert_anbn_status(anbn_language_sequence(ANBN_LANG_ANBNCN, 100000000, NULL, 0, &len), ANBN_ERR_INVALID_ARGUMENT);
  assert_int_equal(len, 300000002u);
  assert_true(max_rss_kib() - before < 16 * 1024); /* the length query allocates nothing */
  anbn_model *m = test_model(ANBN_CELL_RNN_TANH, 2, 1, 1);
  anbn_generate_config g;
  anbn_generate_config_init(&g);
  g.count = 1000000, g.max_len = 1000000;
  anbn_corpus *out = NULL;
  assert_anbn_status(anbn_generate(m, &g, &out, NULL), ANBN_ERR_INVALID_ARGUMENT);
  const int32_t ns[64] = {1000000, 1000000, 1000000, 1000000, 1000000, 1000000, 1000000, 1000000,
                          1000000, 1000000, 1000000, 1000000, 1000000, 1000000, 1000000, 1000000};
  anbn_capacity_row_v2 rows[64];
  assert_anbn_status(anbn_capacity_at(m, ns, 16, rows), ANBN_ERR_INVALID_ARGUMENT);
  anbn_corpus_config cc;
  anbn_corpus_config_init(&cc);
  cc.count = 100000000, cc.max_n = 1000000;
  assert_anbn_status(anbn_corpus_generate(&cc, &out), ANBN_ERR_INVALID_ARGUMENT);
  /* out-of-range enums from C are refused, not undefined */
  anbn_config c;
  anbn_config_init(&c);
  c.backend = "ref";
  int32_t bad = -5;
  memcpy(&c.cell, &bad, sizeof bad);
  anbn_model *m2 = NULL;
  assert_anbn_status(anbn_create(&c, &m2), ANBN_ERR_INVALID_ARGUMENT);
  assert_null(anbn_cell_name(c.cell));
  anbn_config_init(&c);
  memcpy(&c.language, &bad, sizeof bad);
  assert_anbn_status(anbn_create(&c, &m2), ANBN_ERR_INVALID_ARGUMENT);
  anbn_destroy(m);
}

/* 11. train_epoch's stats: any struct_size is served before or after
 * training (outputs are never refused: see test_versions), so the one check
 * left is the model's, and it fails before anything is trained. */
static void test_bad_call_trains_nothing(void **state) {
  (void)state;
  anbn_model *m = test_model(ANBN_CELL_RNN_TANH, 2, 1, 1);
  anbn_corpus *t, *v, *k3, *v3;
  assert_anbn_ok(anbn_corpus_seed(ANBN_LANG_ANBN, 1, &t, &v));
  assert_anbn_ok(anbn_corpus_seed(ANBN_LANG_ANBNCN, 1, &k3, &v3));
  anbn_corpus_destroy(v), anbn_corpus_destroy(v3);
  size_t n;
  float *before = test_params(m, &n);
  anbn_epoch_stats st = {.struct_size = 3};
  assert_anbn_status(anbn_train_epoch(m, k3, NULL, NULL, &st), ANBN_ERR_INVALID_ARGUMENT);
  float *after = test_params(m, &n);
  assert_memory_equal(before, after, n * sizeof(float));
  assert_anbn_ok(anbn_train_epoch(m, t, NULL, NULL, &st));
  assert_int_equal(st.struct_size, sizeof st);
  assert_int_equal(st.sequences, 2000);
  anbn_config c = {.struct_size = sizeof c}; /* an output: its size set */
  assert_anbn_ok(anbn_model_get_config(m, &c));
  c.batch_size = 7;
  assert_anbn_ok(anbn_model_set_training(m, &c));
  anbn_epoch_stats st2 = {.struct_size = sizeof st2};
  assert_anbn_ok(anbn_train_epoch(m, t, NULL, NULL, &st2));
  anbn_model_info info = {.struct_size = sizeof info};
  assert_anbn_ok(anbn_model_get_info(m, &info));  /* the core's step count: one per batch, as the backend's */
  assert_int_equal(info.adam_step, 2000 + (int64_t)st2.batches);
  assert_anbn_ok(anbn_save(m, in_dir("steps.safetensors")));
  anbn_model *back;
  assert_anbn_ok(anbn_load(in_dir("steps.safetensors"), "ref", &back));
  anbn_model_info bi = {.struct_size = sizeof bi};
  assert_anbn_ok(anbn_model_get_info(back, &bi));
  assert_int_equal(bi.adam_step, info.adam_step);
  anbn_destroy(back);
  free(before), free(after);
  anbn_corpus_destroy(t), anbn_corpus_destroy(k3);
  anbn_destroy(m);
}

/* Faults: a full disk and a read-only directory keep the old checkpoint and
 * leave no temporary file behind. */
static void test_save_into_full_filesystem(void **state) {
  (void)state;
  anbn_model *m = test_model(ANBN_CELL_LSTM, 8, 2, 1);
  assert_anbn_ok(anbn_save(m, in_dir("keep.safetensors")));
  size_t n0, n1;
  char *old = test_read_file(in_dir("keep.safetensors"), &n0);
  anbn_corpus *t, *v;
  assert_anbn_ok(anbn_corpus_seed(ANBN_LANG_ANBN, 1, &t, &v));
  assert_anbn_ok(anbn_train_epoch(m, t, NULL, NULL, NULL));
  const int files = entries(g_dir);
  /* A file-size limit below the checkpoint's size: writes fail as on a full disk. */
  struct rlimit saved, lim;
  getrlimit(RLIMIT_FSIZE, &saved);
  lim = saved;
  lim.rlim_cur = 1024;
  signal(SIGXFSZ, SIG_IGN);
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
  const anbn_status rc = anbn_save(m, in_dir("keep.safetensors"));
  setrlimit(RLIMIT_FSIZE, &saved);
  assert_anbn_status(rc, ANBN_ERR_IO);
  print_message("full disk: %s\n", anbn_last_error());
  char *now = test_read_file(in_dir("keep.safetensors"), &n1);
  assert_int_equal(n0, n1);
  assert_memory_equal(old, now, n0);
  assert_int_equal(entries(g_dir), files);
  free(old), free(now);
  anbn_corpus_destroy(t), anbn_corpus_destroy(v);
  anbn_destroy(m);
}

static void test_save_into_read_only_directory(void **state) {
  (void)state;
  const char *ro = in_dir("ro");
  assert_int_equal(mkdir(ro, 0755), 0);
  char keep[1100];
  snprintf(keep, sizeof keep, "%s/keep.safetensors", ro);
  anbn_model *m = test_model(ANBN_CELL_GRU, 3, 1, 1);
  int mounted = 0;
  if (geteuid() == 0) { /* root ignores permissions: a read-only mount instead */
    if (mount("tmpfs", ro, "tmpfs", 0, "size=1m") != 0) skip();
    mounted = 1;
  }
  assert_anbn_ok(anbn_save(m, keep));
  size_t n0, n1;
  char *old = test_read_file(keep, &n0);
  if (mounted) assert_int_equal(mount(NULL, ro, NULL, MS_REMOUNT | MS_RDONLY, NULL), 0);
  else assert_int_equal(chmod(ro, 0555), 0);
  assert_anbn_ok(anbn_param_set(m, "fc.bias", (const float[]){1, 2, 3}, 3));
  assert_anbn_status(anbn_save(m, keep), ANBN_ERR_IO);
  print_message("read-only directory: %s\n", anbn_last_error());
  char *now = test_read_file(keep, &n1);
  assert_int_equal(n0, n1);
  assert_memory_equal(old, now, n0);
  assert_int_equal(entries(ro), 1);
  if (mounted) umount(ro);
  else chmod(ro, 0755);
  free(old), free(now);
  anbn_destroy(m);
}

/* 11. Saving through a symlink replaces its target and keeps the link; a
 * 250-character name works (the temporary name is short). */
static void test_symlink_and_long_names(void **state) {
  (void)state;
  anbn_model *m = test_model(ANBN_CELL_RNN_TANH, 2, 1, 1), *out = NULL;
  assert_anbn_ok(anbn_save(m, in_dir("target.safetensors")));
  assert_int_equal(symlink("target.safetensors", in_dir("link.safetensors")), 0);
  assert_anbn_ok(anbn_param_set(m, "fc.bias", (const float[]){4, 5, 6}, 3));
  assert_anbn_ok(anbn_save(m, in_dir("link.safetensors")));
  struct stat st;
  assert_int_equal(lstat(in_dir("link.safetensors"), &st), 0);
  assert_true(S_ISLNK(st.st_mode));
  assert_anbn_ok(anbn_load(in_dir("target.safetensors"), "ref", &out));
  float b[3];
  assert_anbn_ok(anbn_param_get(out, "fc.bias", b, 3));
  assert_true(b[0] == 4.f && b[2] == 6.f);
  anbn_destroy(out);
  char name[251];
  memset(name, 'x', 250);
  name[250] = 0;
  memcpy(name + 238, ".safetensors", 12);
  assert_anbn_ok(anbn_save(m, in_dir(name)));
  assert_anbn_ok(anbn_load(in_dir(name), "ref", &out));
  anbn_destroy(out);
  anbn_destroy(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_start_is_never_a_target),
      cmocka_unit_test(test_divergence_is_numeric_everywhere),
      cmocka_unit_test(test_gradients_of_a_nan_loss),
      cmocka_unit_test(test_small_file_claiming_big_model),
      cmocka_unit_test(test_broken_plugin_files),
      cmocka_unit_test(test_checkpoint_values),
      cmocka_unit_test(test_fifo_and_devices_refused),
      cmocka_unit_test(test_corpus_nul_byte),
      cmocka_unit_test(test_bounds),
      cmocka_unit_test(test_bad_call_trains_nothing),
      cmocka_unit_test(test_save_into_full_filesystem),
      cmocka_unit_test(test_save_into_read_only_directory),
      cmocka_unit_test(test_symlink_and_long_names),
  };
  return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
