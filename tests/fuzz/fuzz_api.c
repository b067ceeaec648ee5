/* A random sequence of API calls on two small models.  Oracle: every call
 * returns a status of the enum (with a message on failure), and the model's
 * saved image is unchanged after every failed or read-only call. */
#include <math.h>

#include "fuzz_util.h"

typedef struct {
  const uint8_t *p;
  size_t n;
} In;

static uint32_t u8(In *in) {
  if (!in->n) return 0;
  --in->n;
  return *in->p++;
}
static uint32_t u32(In *in) { return u8(in) | u8(in) << 8 | u8(in) << 16 | u8(in) << 24; }
static float f32(In *in) {
  static const float kF[] = {0.f, -1.f, 1e-3f, 1.f, 0.5f, 1e9f, 1e30f, 3e38f, INFINITY, NAN, -0.f, 1e-45f, 0.999f, 2.f};
  const uint32_t k = u8(in);
  if (k < 14 * 16) return kF[k % 14];
  const uint32_t bits = u32(in);
  float f;
  memcpy(&f, &bits, 4);
  return f;
}
static int32_t token(In *in) {
  static const int32_t kT[] = {0, 1, 2, 3, 4, -1, 5, 2147483647, -2147483647 - 1};
  return kT[u8(in) % 9];
}

static void same_image(anbn_model *m, const char *before, size_t nb, const char *what) {
  size_t na;
  char *after = fuzz_image(m, &na);
  if (na != nb || memcmp(before, after, nb) != 0) {
    fprintf(stderr, "%s changed the model's image\n", what);
    abort();
  }
  free(after);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  In in = {data, size};
  anbn_model *models[2] = {NULL, NULL};
  for (int i = 0; i < 2; ++i) {
    anbn_config c;
    anbn_config_init(&c);
    c.backend = "ref", c.cell = (anbn_cell)(u8(&in) % 4), c.hidden = 1 + (int32_t)u8(&in) % 3, c.layers = 1 + i;
    if (anbn_create(&c, &models[i]) != ANBN_OK) abort();
  }
  anbn_corpus *corpus = NULL;
  {
    int32_t toks[] = {3, 0, 1, 2, 3, 0, 0, 1, 1, 2, 3, 2};
    size_t lens[] = {4, 6, 2};
    if (anbn_corpus_from_tokens(2, toks, lens, 3, &corpus) != ANBN_OK) abort();
  }
  for (int steps = 0; steps < 24 && in.n; ++steps) {
    anbn_model *m = models[u8(&in) & 1];
    const uint32_t op = u8(&in) % 14;
    size_t nb;
    char *before = fuzz_image(m, &nb);
    anbn_status rc = ANBN_OK;
    int read_only = 1;
    int32_t seq[8];
    const size_t len = 1 + u8(&in) % 8;
    for (size_t k = 0; k < len; ++k) seq[k] = token(&in);
    switch (op) {
      case 0: {
        read_only = 0;
        rc = fuzz_check(anbn_train_epoch(m, corpus, NULL, NULL, NULL), "train_epoch");
        break;
      }
      case 1: {
        double loss;
        float grad[4096];
        rc = fuzz_check(anbn_gradients(m, seq, len, grad, u8(&in) ? 4096 : u8(&in), &loss), "gradients");
        break;
      }
      case 2: {
        anbn_probe_buffers b;
        anbn_probe_buffers_init(&b);
        float lp[64], h[256], c[256], g[1024];
        b.log_probs = u8(&in) & 1 ? lp : NULL, b.log_probs_count = u8(&in) % 65;
        b.hidden = u8(&in) & 1 ? h : NULL, b.hidden_count = u8(&in) * 2u % 257;
        b.cell = u8(&in) & 1 ? c : NULL, b.cell_count = u8(&in) * 2u % 257;
        b.gates = u8(&in) & 1 ? g : NULL, b.gates_count = u8(&in) * 8u % 1025;
        rc = fuzz_check(anbn_probe(m, seq, len, &b), "probe");
        break;
      }
      case 3: {
        anbn_capacity_result r = {.struct_size = sizeof r};
        anbn_capacity_row_v2 rows[64];
        const int32_t max_n = (int32_t)(u8(&in) % 70) - 2;
        rc = fuzz_check(anbn_capacity_v2(m, max_n, &r, u8(&in) & 1 ? rows : NULL, u8(&in) % 65), "capacity_v2");
        break;
      }
      case 4: {
        anbn_state *s = NULL;
        if (fuzz_check(anbn_state_create(m, &s), "state_create") == ANBN_OK) {
          float lp[8];
          for (size_t k = 0; k < len; ++k) rc = fuzz_check(anbn_step(m, s, seq[k], lp), "step");
          anbn_state_destroy(s);
        }
        break;
      }
      case 5: {
        read_only = 0;
        anbn_config c = {.struct_size = sizeof c}; /* an output: its size set */
        if (fuzz_check(anbn_model_get_config(m, &c), "get_config") != ANBN_OK) abort();
        c.lr = f32(&in), c.beta1 = f32(&in), c.beta2 = f32(&in), c.eps = f32(&in), c.clip_norm = f32(&in);
        c.batch_size = (int32_t)u32(&in) % 5, c.shuffle = (int32_t)u8(&in) % 3 - 1;
        c.progress_every = (int32_t)u8(&in) - 1;
        rc = fuzz_check(anbn_model_set_training(m, &c), "set_training");
        break;
      }
      case 6: {
        read_only = 0;
        float v[8];
        for (int k = 0; k < 8; ++k) v[k] = f32(&in);
        static const char *const kNames[] = {"fc.bias", "fc.weight", "rnn.bias_ih_l0", "embedding.weight", "nope", ""};
        rc = fuzz_check(anbn_param_set(m, kNames[u8(&in) % 6], v, u8(&in) % 9), "param_set");
        break;
      }
      case 7: {
        anbn_generate_config g;
        anbn_generate_config_init(&g);
        g.count = u8(&in) % 5, g.temperature = f32(&in), g.max_len = u8(&in) % 40, g.seed = u8(&in);
        anbn_corpus *out = NULL;
        size_t valid;
        rc = fuzz_check(anbn_generate(m, &g, &out, &valid), "generate");
        anbn_corpus_destroy(out);
        break;
      }
      case 8: {
        anbn_eval_stats e = {.struct_size = sizeof e};
        rc = fuzz_check(anbn_evaluate(m, corpus, &e), "evaluate");
        break;
      }
      case 9: {
        int32_t ns[3] = {(int32_t)u32(&in) % 2000, (int32_t)u8(&in), -1};
        anbn_capacity_row_v2 rows[3];
        rc = fuzz_check(anbn_capacity_at(m, ns, 1 + u8(&in) % 3, rows), "capacity_at");
        break;
      }
      case 10: {
        anbn_model_info info = {.struct_size = sizeof info};
        rc = fuzz_check(anbn_model_get_info(m, &info), "get_info");
        break;
      }
      case 11: {
        char buf[512];
        size_t len = 0;
        const int with_buf = u8(&in) & 1;
        const size_t cap = with_buf ? u8(&in) * 2u : 0;
        rc = fuzz_check(anbn_diagnose(m, (int32_t)(u32(&in) % 200) - 10, with_buf ? buf : NULL, cap, &len), "diagnose");
        if (rc == ANBN_OK && with_buf && strlen(buf) != len) abort();  // the text and its length agree
        break;
      }
      case 12: {  // a population of m's config (its fuzzed training settings too): each member that
                   // trained is bit for bit its seed's model trained alone; one that failed is unchanged
        anbn_config c = {.struct_size = sizeof c}; /* an output: its size set */
        if (fuzz_check(anbn_model_get_config(m, &c), "get_config") != ANBN_OK) abort();
        uint64_t seeds[3];
        int32_t active[3];
        const size_t P = 1 + u8(&in) % 3;
        for (size_t k = 0; k < P; ++k) seeds[k] = u8(&in) % 4, active[k] = (int32_t)(u8(&in) % 4 != 0);
        anbn_population *pop = NULL;
        rc = fuzz_check(anbn_population_create(&c, seeds, P, &pop), "population_create");
        if (rc != ANBN_OK) break;
        anbn_status status[3];
        const anbn_corpus *one[1] = {corpus};
        const int masked = u8(&in) & 1;
        rc = fuzz_check(anbn_population_train_epoch(pop, one, 1, masked ? active : NULL, status, NULL),
                        "population_train_epoch");
        for (size_t k = 0; k < P && rc == ANBN_OK; ++k) {
          anbn_model *member = NULL, *alone = NULL;
          if (fuzz_check(anbn_population_member(pop, k, &member), "population_member") != ANBN_OK) abort();
          c.seed = seeds[k];
          if (anbn_create(&c, &alone) != ANBN_OK) abort();
          size_t na;
          char *fresh = fuzz_image(alone, &na);
          const int on = !masked || active[k];
          const anbn_status r1 = on ? anbn_train_epoch(alone, corpus, NULL, NULL, NULL) : ANBN_OK;
          if (status[k] != ANBN_OK && status[k] != ANBN_ERR_NUMERIC) abort();
          if (on && (status[k] == ANBN_OK) != (r1 == ANBN_OK)) {
            fprintf(stderr, "population member %zu: %s, alone: %s\n", k, anbn_status_string(status[k]),
                    anbn_status_string(r1));
            abort();
          }
          char *want = on && r1 == ANBN_OK ? fuzz_image(alone, &na) : fresh;  // trained, or as it was
          same_image(member, want, na, "a population member against its model alone");
          if (want != fresh) free(want);
          free(fresh);
          anbn_destroy(alone);
        }
        // Scans, spot checks, evaluation and generation of all members (lanes on ref, unless the
        // fuzzed config batches): the status and every number as each member's own call gives.
        const int32_t max_n = (int32_t)(u8(&in) % 40) - 2, ns[2] = {(int32_t)u8(&in) - 3, (int32_t)(u32(&in) % 3000)};
        const size_t nn = 1 + u8(&in) % 2;
        anbn_capacity_result res[3];
        anbn_capacity_row_v2 rows[3][40], spots[3][2], *rp[3] = {rows[0], rows[1], rows[2]}, *sp[3] = {spots[0], spots[1], spots[2]};
        anbn_eval_stats ev[3];
        for (size_t k = 0; k < P; ++k) res[k].struct_size = sizeof res[k], ev[k].struct_size = sizeof ev[k];
        anbn_generate_config g;
        anbn_generate_config_init(&g);
        g.count = u8(&in) % 4, g.temperature = f32(&in), g.max_len = u8(&in) % 30, g.seed = u8(&in);
        anbn_corpus *gen[3] = {NULL, NULL, NULL};
        const anbn_status r_cap = anbn_population_capacity(pop, max_n, NULL, res, rp);
        const anbn_status r_at = anbn_population_capacity_at(pop, ns, nn, NULL, sp);
        const anbn_status r_ev = anbn_population_evaluate(pop, one, 1, NULL, ev);
        const anbn_status r_gen = anbn_population_generate(pop, &g, NULL, gen, NULL);
        for (size_t k = 0; k < P; ++k) {
          anbn_model *member = NULL;
          if (anbn_population_member(pop, k, &member) != ANBN_OK) abort();
          anbn_capacity_result r1 = {.struct_size = sizeof r1};
          anbn_capacity_row_v2 rows1[40], spots1[2];
          anbn_eval_stats e1 = {.struct_size = sizeof e1};
          anbn_corpus *g1 = NULL;
          if (anbn_capacity_v2(member, max_n, &r1, rows1, 40) != r_cap || anbn_capacity_at(member, ns, nn, spots1) != r_at ||
              anbn_evaluate(member, corpus, &e1) != r_ev || anbn_generate(member, &g, &g1, NULL) != r_gen)
            abort();  // the population's status differs from the member's own
          if (r_cap == ANBN_OK && (memcmp(&r1, &res[k], sizeof r1) || memcmp(rows1, rows[k], (size_t)max_n * sizeof rows1[0])))
            abort();
          if (r_at == ANBN_OK && memcmp(spots1, spots[k], nn * sizeof spots1[0])) abort();
          if (r_ev == ANBN_OK && memcmp(&e1, &ev[k], sizeof e1)) abort();
          if (r_gen == ANBN_OK) {
            size_t c1, c2, l1, l2;
            int32_t t1[32], t2[32];
            if (anbn_corpus_size(g1, &c1) || anbn_corpus_size(gen[k], &c2) || c1 != c2) abort();
            for (size_t i = 0; i < c1; ++i)
              if (anbn_corpus_get(g1, i, t1, 32, &l1) || anbn_corpus_get(gen[k], i, t2, 32, &l2) || l1 != l2 ||
                  memcmp(t1, t2, l1 * sizeof t1[0]))
                abort();
          }
          anbn_corpus_destroy(g1), anbn_corpus_destroy(gen[k]);
        }
        anbn_population_destroy(pop);
        rc = ANBN_OK;
        break;
      }
      default: {
        read_only = 0;
        const double tokens_x = u8(&in);
        (void)tokens_x;
        anbn_corpus *bad = NULL;
        const size_t lens[] = {len};
        rc = fuzz_check(anbn_corpus_from_tokens(1 + (int32_t)u8(&in) % 3, seq, lens, 1, &bad), "corpus_from_tokens");
        if (rc == ANBN_OK) rc = fuzz_check(anbn_train_epoch(m, bad, NULL, NULL, NULL), "train_epoch(fuzzed corpus)");
        anbn_corpus_destroy(bad);
        break;
      }
    }
    if (read_only || rc != ANBN_OK) same_image(m, before, nb, "a failed or read-only call");
    free(before);
  }
  anbn_corpus_destroy(corpus);
  anbn_destroy(models[0]);
  anbn_destroy(models[1]);
  return 0;
}
