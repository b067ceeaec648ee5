#include "dl.hpp"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace anbn {

namespace {

bool read_at(int fd, void *buf, size_t n, off_t at) {
  size_t got = 0;
  while (got < n) {
    const ssize_t r = pread(fd, static_cast<char *>(buf) + got, n - got, at + off_t(got));
    if (r <= 0) return false;
    got += size_t(r);
  }
  return true;
}

// Why the dynamic loader must not be given this file ("" when it may): a
// truncated library makes dlopen map pages past its end (SIGBUS on first
// touch), so the ELF header and every loaded segment must lie in the file.
std::string elf_problem(const std::string &path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return std::string("cannot open it: ") + std::strerror(errno);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return "not a regular file";
  const uint64_t size = uint64_t(st.st_size);
  ElfW(Ehdr) eh;
  if (size < sizeof eh || !read_at(fd, &eh, sizeof eh, 0)) return "too short to be a shared library (truncated?)";
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) return "not an ELF file";
#if __SIZEOF_POINTER__ == 8
  if (eh.e_ident[EI_CLASS] != ELFCLASS64) return "not a 64-bit ELF file";
#else
  if (eh.e_ident[EI_CLASS] != ELFCLASS32) return "not a 32-bit ELF file";
#endif
  if (eh.e_type != ET_DYN) return "not a shared library (ELF type is not ET_DYN)";
  if (eh.e_phentsize != sizeof(ElfW(Phdr)) || eh.e_phnum == 0 || eh.e_phnum > 4096) return "bad ELF program headers";
  if (eh.e_phoff > size || uint64_t(eh.e_phnum) * sizeof(ElfW(Phdr)) > size - eh.e_phoff)
    return "ELF program headers lie outside the file (truncated?)";
  std::vector<ElfW(Phdr)> ph(eh.e_phnum);
  if (!read_at(fd, ph.data(), ph.size() * sizeof(ElfW(Phdr)), off_t(eh.e_phoff))) return "cannot read the ELF program headers";
  for (const auto &p : ph)
    if (p.p_type == PT_LOAD && (p.p_offset > size || p.p_filesz > size - p.p_offset))
      return "a loadable segment lies outside the file (truncated?)";
  if (eh.e_shoff > size) return "ELF section headers lie outside the file (truncated?)";
  return "";
}

}  // namespace

void *dl_open(const std::string &path, std::string *error) {
  const std::string problem = elf_problem(path);
  if (!problem.empty()) {
    if (error) *error = "unusable library: " + problem;
    return nullptr;
  }
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
