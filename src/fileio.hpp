// Whole-file reads and atomic writes (temp file in the same directory + rename).
#pragma once
#include <cstddef>
#include <string>

namespace anbn {
// Throws Error(ANBN_ERR_IO) on failure; the old file, if any, is untouched.
void write_file_atomic(const std::string &path, const void *data, size_t size);
// Reads at most max_size bytes; throws ANBN_ERR_IO if unreadable, ANBN_ERR_FORMAT if larger.
std::string read_file(const std::string &path, size_t max_size);
}  // namespace anbn
