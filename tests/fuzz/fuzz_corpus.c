/* anbn_corpus_load on arbitrary bytes (first byte: the alphabet). */
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  char path[64];
  const int fd = fuzz_file(data + 1, size - 1, path);
  anbn_corpus *c = NULL;
  if (fuzz_check(anbn_corpus_load(path, 1 + data[0] % 3, &c), "anbn_corpus_load") == ANBN_OK) {
    size_t n = 0, len = 0;
    fuzz_check(anbn_corpus_size(c, &n), "anbn_corpus_size");
    for (size_t i = 0; i < n; ++i) fuzz_check(anbn_corpus_get(c, i, NULL, 0, &len), "anbn_corpus_get");
  }
  anbn_corpus_destroy(c);
  close(fd);
  return 0;
}
