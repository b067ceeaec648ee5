/* anbn_load on arbitrary bytes: never a crash, a leak, or an allocation out
 * of proportion to the file (ASan's allocation limit, see CMakeLists.txt). */
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[64];
  const int fd = fuzz_file(data, size, path);
  anbn_model *m = NULL;
  if (fuzz_check(anbn_load(path, "ref", &m), "anbn_load") == ANBN_OK) {
    anbn_model_info info = {.struct_size = sizeof info};
    fuzz_check(anbn_model_get_info(m, &info), "anbn_model_get_info");
    const int32_t seq[] = {info.alphabet + 1, 0, 1, info.alphabet};
    anbn_probe_buffers b;
    anbn_probe_buffers_init(&b);
    float lp[64];
    b.log_probs = lp, b.log_probs_count = 64;
    fuzz_check(anbn_probe(m, seq, 3, &b), "anbn_probe");
  }
  anbn_destroy(m);
  close(fd);
  return 0;
}
