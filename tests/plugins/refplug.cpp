// The reference backend packaged as a plugin: exercises the loader's whole
// success path, and a backend that must agree with the built-in ref bit for bit.
// A second table, "nodevice", reports itself unavailable like torch-cuda
// without a GPU; a third, "shorttable", ends before the optional `gradients`
// (struct_size says so; the pointer after it is garbage the loader must not use).
#include <cstddef>
#include <cstdint>
#include <cstdio>

#include "../../backends/ref/ref.cpp"

namespace {
anbn_backend_iface g_refplug, g_nodevice, g_short;

int no_device(char *reason, size_t len) {
  std::snprintf(reason, len, "no CUDA device (test plugin)");
  return 0;
}
}  // namespace

extern "C" __attribute__((visibility("default"))) const anbn_backend_iface *anbn_backend_entry(uint32_t index) {
  if (!g_refplug.name) {
    g_refplug = *anbn_ref_backend();
    g_refplug.name = "refplug";
    g_nodevice = *anbn_ref_backend();
    g_nodevice.name = "nodevice";
    g_nodevice.available = no_device;
    g_short = *anbn_ref_backend();
    g_short.name = "shorttable";
    g_short.struct_size = offsetof(anbn_backend_iface, gradients);
    g_short.gradients = reinterpret_cast<decltype(g_short.gradients)>(uintptr_t(0xdead));
  }
  return index == 0 ? &g_refplug : index == 1 ? &g_nodevice : index == 2 ? &g_short : nullptr;
}
