/* Training alone, one core: ms per model-epoch of a population of P LSTMs
 * (H = 2, the seed configuration, each member on its own seed corpus and its
 * own shuffle) trained in lockstep on ref, beside the same members trained one
 * after another with anbn_train_epoch, in the same run.  Medians of --reps.
 *
 *   bench_population [P=1000] [reps=3] [cell=lstm] [backend=ref]
 *
 * On another backend (torch-cuda in scripts/device-check.sh) the peer is the
 * first 2 members one at a time, and the figure is also given as
 * model-epochs per second.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "anbn/anbn.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int by_value(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void die(const char *what) {
  fprintf(stderr, "bench_population: %s: %s\n", what, anbn_last_error());
  exit(1);
}

int main(int argc, char **argv) {
  const size_t P = argc > 1 ? (size_t)atol(argv[1]) : 1000;
  const int reps = argc > 2 ? atoi(argv[2]) : 3;
  anbn_config c;
  anbn_config_init(&c);
  c.backend = "ref", c.hidden = 2, c.cell = ANBN_CELL_LSTM;
  if (argc > 3 && anbn_cell_from_name(argv[3], &c.cell) != ANBN_OK) die("cell");
  if (argc > 4) c.backend = argv[4];
  const int is_ref = strcmp(c.backend, "ref") == 0;
  if (P < 1 || reps < 1 || reps > 99) die("usage: bench_population [P] [reps 1..99] [cell]");
  uint64_t *seeds = malloc(P * sizeof *seeds);
  const anbn_corpus **train = malloc(P * sizeof *train);
  for (size_t i = 0; i < P; ++i) {
    anbn_corpus *t, *v;
    seeds[i] = i;
    if (anbn_corpus_seed(ANBN_LANG_ANBN, i, &t, &v) != ANBN_OK) die("corpus");
    anbn_corpus_destroy(v);
    train[i] = t;
  }
  anbn_population *pop;
  if (anbn_population_create(&c, seeds, P, &pop) != ANBN_OK) die("population");
  const size_t peer = is_ref ? 50 : 2, alone_n = P < peer ? P : peer; /* the one-at-a-time peer: the first members */
  double lanes[99], alone[99];
  for (int r = 0; r < reps; ++r) {
    double t0 = now();
    if (anbn_population_train_epoch(pop, train, P, NULL, NULL, NULL) != ANBN_OK) die("population epoch");
    lanes[r] = 1e3 * (now() - t0) / (double)P;
    t0 = now();
    for (size_t i = 0; i < alone_n; ++i) {
      anbn_model *m;
      c.seed = seeds[i];
      if (anbn_create(&c, &m) != ANBN_OK || anbn_train_epoch(m, train[i], NULL, NULL, NULL) != ANBN_OK) die("epoch");
      anbn_destroy(m);
    }
    alone[r] = 1e3 * (now() - t0) / (double)alone_n;
  }
  qsort(lanes, (size_t)reps, sizeof *lanes, by_value);
  qsort(alone, (size_t)reps, sizeof *alone, by_value);
  printf("%s H=2, %s, ms per model-epoch (median of %d): population of %zu in lanes %.3f, "
         "one at a time %.3f (%.2fx); %.0f model-epochs per second\n",
         anbn_cell_name(c.cell), c.backend, reps, P, lanes[reps / 2], alone[reps / 2], alone[reps / 2] / lanes[reps / 2],
         1e3 / lanes[reps / 2]);
  /* Capacity scans to n = 1000 with every row (as the sweep's) of the trained
   * members: all as lanes, against the first 20 scanned one at a time
   * (anbn_capacity_v2). */
  enum { kMaxN = 1000 };
  anbn_capacity_result *res = calloc(P, sizeof *res);
  anbn_capacity_row_v2 *all = malloc(P * kMaxN * sizeof *all), **rp = malloc(P * sizeof *rp);
  for (size_t i = 0; i < P; ++i) res[i].struct_size = sizeof res[i], rp[i] = all + i * kMaxN;
  double t0 = now();
  if (anbn_population_capacity(pop, kMaxN, NULL, res, rp) != ANBN_OK) die("population capacity");
  const double scan_lanes = 1e3 * (now() - t0) / (double)P;
  static anbn_capacity_row_v2 rows[kMaxN];
  const size_t scan_n = P < 20 ? P : 20;
  t0 = now();
  for (size_t i = 0; i < scan_n; ++i) {
    anbn_model *m;
    anbn_capacity_result r = {.struct_size = sizeof r};
    if (anbn_population_member(pop, i, &m) != ANBN_OK || anbn_capacity_v2(m, kMaxN, &r, rows, kMaxN) != ANBN_OK)
      die("capacity");
    if (r.capacity != res[i].capacity) die("population capacity differs from the member's own");
  }
  const double scan_alone = 1e3 * (now() - t0) / (double)scan_n;
  printf("capacity scan to n = %d, ms per model: population of %zu in lanes %.2f, one at a time %.2f (%.2fx)\n", kMaxN, P,
         scan_lanes, scan_alone, scan_alone / scan_lanes);
  free(res), free(all), free(rp);
  anbn_population_destroy(pop);
  for (size_t i = 0; i < P; ++i) anbn_corpus_destroy((anbn_corpus *)train[i]);
  free(seeds), free(train);
  return 0;
}
