/* A plugin built against a future backend ABI: the loader must refuse it
 * after reading only the first two fields. */
#include <stdint.h>

typedef struct {
  uint32_t abi_version, struct_size;
  const char *name;
} future_iface;

static const future_iface kTable = {999u, sizeof(future_iface), "badabi"};

__attribute__((visibility("default"))) const void *anbn_backend_entry(uint32_t index) {
  return index == 0 ? &kTable : 0;
}
