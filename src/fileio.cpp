#include "fileio.hpp"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <atomic>
#include <chrono>
#include <cstdint>

#include "error.hpp"

namespace anbn {
namespace {

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// The file a path finally names: symlinks resolved (a dangling one names its
// target), so saving through a link replaces the target, not the link.
std::string resolve_links(std::string path) {
  for (int hops = 0; hops < 40; ++hops) {
    struct stat st;
    if (lstat(path.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return path;
    char buf[PATH_MAX];
    const ssize_t n = readlink(path.c_str(), buf, sizeof buf - 1);
    if (n < 0) return path;
    buf[n] = '\0';
    if (buf[0] == '/') {
      path = buf;
    } else {
      const size_t slash = path.rfind('/');
      path = (slash == std::string::npos ? std::string() : path.substr(0, slash + 1)) + buf;
    }
  }
  raise(ANBN_ERR_IO, "cannot write '%s': too many levels of symbolic links", path.c_str());
}

std::string dir_of(const std::string &path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

void write_all(int fd, const char *p, size_t left, const std::string &path) {
  while (left > 0) {
    const ssize_t w = ::write(fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) raise(ANBN_ERR_IO, "cannot write '%s': %s", path.c_str(), std::strerror(w < 0 ? errno : ENOSPC));
    p += w;
    left -= size_t(w);
  }
  if (::fsync(fd) != 0) raise(ANBN_ERR_IO, "cannot write '%s': %s", path.c_str(), std::strerror(errno));
}

// A short temporary name in `dir` (the final name may be up to NAME_MAX long).
std::string temp_name(const std::string &dir) { return dir + "/.anbn-tmp-XXXXXX"; }

// A fresh name for linkat (which, unlike mkstemp, must create it itself).
std::string unique_name(const std::string &dir) {
  static std::atomic<uint64_t> counter{0};
  const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  char name[64];
  std::snprintf(name, sizeof name, "/.anbn-tmp-%d-%llx", int(::getpid()),
                (unsigned long long)(uint64_t(now) * 31 + counter.fetch_add(1)));
  return dir + name;
}

}  // namespace

void write_file_atomic(const std::string &path_in, const void *data, size_t size) {
  const std::string path = resolve_links(path_in);
  const std::string dir = dir_of(path);
  const char *p = static_cast<const char *>(data);
  Fd f;
#ifdef O_TMPFILE
  f.fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
#endif
  if (f.fd >= 0) {
    // Unnamed until complete: no failure or kill leaves anything behind.
    write_all(f.fd, p, size, path);
    fchmod(f.fd, 0644);
    char proc[64];
    std::snprintf(proc, sizeof proc, "/proc/self/fd/%d", f.fd);
    for (int attempt = 0; attempt < 16; ++attempt) {
      const std::string tmp = unique_name(dir);
      if (::linkat(AT_FDCWD, proc, AT_FDCWD, tmp.c_str(), AT_SYMLINK_FOLLOW) != 0) {
        if (errno == EEXIST) continue;
        break;  // e.g. /proc not mounted: fall back to a named temporary file
      }
      if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        const int e = errno;
        ::unlink(tmp.c_str());
        raise(ANBN_ERR_IO, "cannot rename to '%s': %s", path.c_str(), std::strerror(e));
      }
      return;
    }
    ::close(f.fd);
    f.fd = -1;
  } else if (errno == ENOENT) {
    raise(ANBN_ERR_IO, "cannot write '%s': directory '%s' does not exist", path.c_str(), dir.c_str());
  } else if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {  // those: no O_TMPFILE on this filesystem
    raise(ANBN_ERR_IO, "cannot write '%s': %s", path.c_str(), std::strerror(errno));
  }
  // No O_TMPFILE here: a named temporary file, removed on every failure path.
  std::string tmp = temp_name(dir);
  f.fd = mkstemp(&tmp[0]);
  if (f.fd < 0) raise(ANBN_ERR_IO, "cannot write '%s': %s", path.c_str(), std::strerror(errno));
  try {
    write_all(f.fd, p, size, path);
    fchmod(f.fd, 0644);
    const int fd = f.fd;
    f.fd = -1;
    if (::close(fd) != 0) raise(ANBN_ERR_IO, "cannot write '%s': %s", path.c_str(), std::strerror(errno));
    if (std::rename(tmp.c_str(), path.c_str()) != 0)
      raise(ANBN_ERR_IO, "cannot rename to '%s': %s", path.c_str(), std::strerror(errno));
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
}

std::string read_file(const std::string &path, size_t max_size, const char *what) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; cleared once we
  // know it is a regular file.
  Fd f;
  f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (f.fd < 0) raise(ANBN_ERR_IO, "cannot open %s '%s': %s", what, path.c_str(), std::strerror(errno));
  struct stat st;
  if (fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode))
    raise(ANBN_ERR_IO, "%s '%s' is not a regular file", what, path.c_str());
  fcntl(f.fd, F_SETFL, fcntl(f.fd, F_GETFL) & ~O_NONBLOCK);
  if (static_cast<unsigned long long>(st.st_size) > max_size)
    raise(ANBN_ERR_FORMAT, "%s '%s' is %lld bytes, more than the %zu allowed", what, path.c_str(),
          static_cast<long long>(st.st_size), max_size);
  std::string out(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < out.size()) {
    const ssize_t r = ::read(f.fd, &out[got], out.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) raise(ANBN_ERR_IO, "cannot read %s '%s': %s", what, path.c_str(), std::strerror(errno));
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  out.resize(got);  // a file that shrank while we read; one that grew is read to its stat size
  return out;
}

}  // namespace anbn
