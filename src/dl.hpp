// OS loading of plugin libraries, kept in one small file.
#pragma once
#include <string>

namespace anbn {
// Returns a handle or nullptr with the loader's message in *error.
void *dl_open(const std::string &path, std::string *error);
void *dl_symbol(void *handle, const char *name);
// Directory holding the library that contains this code ("" if unknown).
std::string dl_self_dir();
}  // namespace anbn
