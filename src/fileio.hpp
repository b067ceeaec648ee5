// Whole-file reads and atomic writes (temp file in the same directory + rename).
#pragma once
#include <cstddef>
#include <string>

namespace anbn {
// Writes to an unnamed temporary file in the destination's directory and
// links it into place by rename, so a crash (even kill -9) leaves either the
// old file or the new one and no temporary name behind.  A symlink is
// followed: its target is replaced and the link kept.  Throws Error(ANBN_ERR_IO)
// on failure; the old file, if any, is untouched.
void write_file_atomic(const std::string &path, const void *data, size_t size);
// Reads a regular file of at most max_size bytes (FIFOs, devices and
// directories are refused without blocking); throws ANBN_ERR_IO if
// unreadable, ANBN_ERR_FORMAT if larger.  `what` names the file in errors.
std::string read_file(const std::string &path, size_t max_size, const char *what = "file");
}  // namespace anbn
