/* Structure-aware: real checkpoints of every cell, edited the way a hostile
 * file would be (numbers in the header replaced by extreme values, the
 * header length changed, the file cut, data bytes flipped), then loaded. */
#include "fuzz_util.h"

static char *g_ckpt[4];
static size_t g_len[4];

static void make_seeds(void) {
  for (int c = 0; c < 4; ++c) {  /* every cell: rnn_tanh, lstm, gru, peephole */
    anbn_config cfg;
    anbn_config_init(&cfg);
    cfg.backend = "ref", cfg.cell = (anbn_cell)c, cfg.layers = 1 + c % 2, cfg.hidden = 2 + c;
    anbn_model *m = NULL;
    if (anbn_create(&cfg, &m) != ANBN_OK) abort();
    g_ckpt[c] = fuzz_image(m, &g_len[c]);
    anbn_destroy(m);
  }
}

static const char *const kValues[] = {"0", "-1", "1", "2", "4096", "8192", "2147483647", "2147483648",
                                      "4294967297", "9223372036854775807", "18446744073709551615",
                                      "18446744073709551616", "1.8e19", "1e308", "-1e308", "0.5", "1e-45",
                                      "3.5e38", "\"x\"", "null", "[]", "{}", "true"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!g_ckpt[0]) make_seeds();
  if (size < 1) return 0;
  const int c = data[0] % 4;
  char *buf = malloc(g_len[c] + 4096);
  size_t len = g_len[c];
  memcpy(buf, g_ckpt[c], len);
  for (size_t i = 1; i + 2 < size; i += 3) {
    uint64_t hl = 0;
    for (int k = 0; k < 8; ++k) hl |= (uint64_t)(uint8_t)buf[k] << (8 * k);
    const unsigned op = data[i] % 4, a = data[i + 1], b = data[i + 2];
    if (op == 0 && len >= 8 && hl <= len - 8) { /* the a-th number of the header becomes kValues[b] */
      char *h = buf + 8, *end = h + hl, *p = h;
      int seen = -1;
      for (; p < end; ++p) {
        const int digit = *p >= '0' && *p <= '9';
        const int starts = p == h || !((p[-1] >= '0' && p[-1] <= '9') || p[-1] == '.' || p[-1] == 'e' || p[-1] == '-');
        if (digit && starts && ++seen == (int)a) break;
      }
      if (p >= end) continue;
      char *q = p;
      while (q < end && ((*q >= '0' && *q <= '9') || *q == '.' || *q == 'e' || *q == '-')) ++q;
      const char *v = kValues[b % (sizeof kValues / sizeof *kValues)];
      const size_t vl = strlen(v), old = (size_t)(q - p);
      if (len + vl > g_len[c] + 4000) continue;
      memmove(p + vl, q, len - (size_t)(q - buf));
      memcpy(p, v, vl);
      len = len + vl - old;
      hl = hl + vl - old;
      for (int k = 0; k < 8; ++k) buf[k] = (char)((hl >> (8 * k)) & 0xff);
    } else if (op == 1) { /* header length off by a little or a lot */
      hl += (b & 1) ? (uint64_t)a : -(uint64_t)a;
      if (b & 2) hl <<= (b >> 2) % 40;
      for (int k = 0; k < 8; ++k) buf[k] = (char)((hl >> (8 * k)) & 0xff);
    } else if (op == 2) { /* cut the file */
      len = len * (size_t)a / 256;
    } else if (len > 0) { /* flip a byte */
      buf[((size_t)a * 256 + b) % len] ^= (char)(1 + (a ^ b) % 255);
    }
  }
  char path[64];
  const int fd = fuzz_file((const uint8_t *)buf, len, path);
  anbn_model *m = NULL;
  fuzz_check(anbn_load(path, "ref", &m), "anbn_load");
  anbn_destroy(m);
  close(fd);
  free(buf);
  return 0;
}
