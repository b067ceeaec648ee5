#include "dl.hpp"

#include <dlfcn.h>

namespace anbn {

void *dl_open(const std::string &path, std::string *error) {
  dlerror();
  void *h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h && error) {
    const char *e = dlerror();
    *error = e ? e : "dlopen failed";
  }
  return h;
}

void *dl_symbol(void *handle, const char *name) { return dlsym(handle, name); }

std::string dl_self_dir() {
  Dl_info info;
  if (!dladdr(reinterpret_cast<void *>(&dl_self_dir), &info) || !info.dli_fname) return "";
  std::string p = info.dli_fname;
  const size_t slash = p.rfind('/');
  return slash == std::string::npos ? "." : p.substr(0, slash);
}

}  // namespace anbn
