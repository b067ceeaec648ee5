#include "fileio.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "error.hpp"

namespace anbn {

void write_file_atomic(const std::string &path, const void *data, size_t size) {
  std::string tmp = path + ".tmp.XXXXXX";
  int fd = mkstemp(&tmp[0]);
  if (fd < 0) raise(ANBN_ERR_IO, "cannot create '%s': %s", tmp.c_str(), std::strerror(errno));
  const char *p = static_cast<const char *>(data);
  size_t left = size;
  while (left > 0) {
    ssize_t w = ::write(fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      raise(ANBN_ERR_IO, "cannot write '%s': %s", tmp.c_str(), std::strerror(e));
    }
    p += w;
    left -= static_cast<size_t>(w);
  }
  fchmod(fd, 0644);
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    raise(ANBN_ERR_IO, "cannot write '%s': %s", tmp.c_str(), std::strerror(e));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    raise(ANBN_ERR_IO, "cannot rename to '%s': %s", path.c_str(), std::strerror(e));
  }
}

std::string read_file(const std::string &path, size_t max_size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) raise(ANBN_ERR_IO, "cannot open '%s': %s", path.c_str(), std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    raise(ANBN_ERR_IO, "'%s' is not a regular file", path.c_str());
  }
  if (static_cast<unsigned long long>(st.st_size) > max_size) {
    ::close(fd);
    raise(ANBN_ERR_FORMAT, "'%s' is %lld bytes, more than the %zu allowed", path.c_str(),
          static_cast<long long>(st.st_size), max_size);
  }
  std::string out(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < out.size()) {
    ssize_t r = ::read(fd, &out[got], out.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int e = errno;
      ::close(fd);
      raise(ANBN_ERR_IO, "cannot read '%s': %s", path.c_str(), std::strerror(e));
    }
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  ::close(fd);
  out.resize(got);
  return out;
}

}  // namespace anbn
