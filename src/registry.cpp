// The backend registry: ref built in; plugins libanbn-<name>.so found in
// $ANBN_BACKEND_PATH, then beside libanbn (<libdir>/anbn, <libdir>).  A
// library may hold several backends (libanbn-torch.so: torch-cpu and
// torch-cuda).  Unusable plugins stay listed with their reason.
//
// Creating a model loads only the libraries its name points at
// (libanbn-<name>.so, then libanbn-<name up to '-'>.so): asking for ref must
// not pull in libtorch.  Listing loads every plugin found.
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "dl.hpp"
#include "model.hpp"
#include "versioned.hpp"

extern "C" const anbn_backend_iface *anbn_ref_backend(void);

namespace anbn {
namespace {

struct Entry {
  std::string name, reason, path;
  const anbn_backend_iface *iface = nullptr;  // NULL when unusable
};

// Standard plugins listed even when missing, and the library each lives in.
const char *const kStandard[][2] = {
    {"onednn", "libanbn-onednn.so"}, {"torch-cpu", "libanbn-torch.so"}, {"torch-cuda", "libanbn-torch.so"}};

std::mutex g_mutex;
std::deque<Entry> g_targeted;  // entries found by resolve() without a full scan; never freed
std::deque<std::vector<Entry>> g_generations;  // old ones stay alive: info strings never dangle
std::vector<Entry> *g_current = nullptr;

std::vector<std::string> search_dirs() {
  std::vector<std::string> dirs;
  if (const char *env = std::getenv("ANBN_BACKEND_PATH")) {
    std::string s = env;
    size_t start = 0;
    while (start <= s.size()) {
      size_t colon = s.find(':', start);
      if (colon == std::string::npos) colon = s.size();
      if (colon > start) dirs.push_back(s.substr(start, colon - start));
      start = colon + 1;
    }
  }
  const std::string self = dl_self_dir();
  if (!self.empty()) dirs.push_back(self + "/anbn"), dirs.push_back(self);
  std::vector<std::string> unique;  // each directory once, first place wins
  for (const auto &d : dirs)
    if (std::find(unique.begin(), unique.end(), d) == unique.end()) unique.push_back(d);
  return unique;
}

std::string joined(const std::vector<std::string> &dirs) {
  std::string s;
  for (const auto &d : dirs) s += (s.empty() ? "" : ":") + d;
  return s.empty() ? "(none)" : s;
}

// A table must hold the required methods (through `forward`); optional ones
// past its struct_size (an older or smaller plugin) are absent.
constexpr size_t kFirstTableSize = offsetof(anbn_backend_iface, gradients);
std::deque<anbn_backend_iface> g_tables;  // the copies, never freed (entries point at them)

const anbn_backend_iface *normalised(const anbn_backend_iface *t) {
  anbn_backend_iface copy{};
  std::memcpy(static_cast<void *>(&copy), t, std::min<size_t>(t->struct_size, sizeof copy));
  copy.struct_size = sizeof copy;
  g_tables.push_back(copy);
  return &g_tables.back();
}

// Loads one plugin file and appends its backends (or one entry saying why not).
void load_plugin(const std::string &dir, const std::string &file, std::vector<Entry> &out) {
  const std::string path = dir + "/" + file;
  const std::string stem = file.substr(8, file.size() - 8 - 3);  // libanbn-<stem>.so
  for (const Entry &e : out)
    if (e.path == path) return;
  std::string err;
  void *h = dl_open(path, &err);
  if (!h) {
    out.push_back({stem, "cannot load " + path + ": " + err, path, nullptr});
    return;
  }
  auto entry = reinterpret_cast<anbn_backend_entry_fn>(dl_symbol(h, ANBN_BACKEND_ENTRY_SYMBOL));
  if (!entry) {
    out.push_back({stem, path + " does not export " ANBN_BACKEND_ENTRY_SYMBOL, path, nullptr});
    return;
  }
  for (uint32_t i = 0; i < 64; ++i) {
    const anbn_backend_iface *t = entry(i);
    if (!t) break;
    if (t->abi_version != ANBN_BACKEND_ABI_VERSION) {
      out.push_back({stem, "ABI mismatch: " + path + " has backend ABI " + std::to_string(t->abi_version) +
                               ", this libanbn needs " + std::to_string(ANBN_BACKEND_ABI_VERSION),
                     path, nullptr});
      break;
    }
    if (t->struct_size < kFirstTableSize) {
      out.push_back({stem, "ABI mismatch: " + path + " has a " + std::to_string(t->struct_size) +
                               "-byte backend table, smaller than any release's (" + std::to_string(kFirstTableSize) + ")",
                     path, nullptr});
      break;
    }
    t = normalised(t);  // methods past the plugin's struct_size are absent (NULL)
    if (!t->name || !t->create || !t->destroy || !t->get_params || !t->set_params || !t->get_adam ||
        !t->set_adam || !t->train_batch || !t->forward) {
      out.push_back({t->name ? t->name : stem, path + " has a backend table with required methods missing", path, nullptr});
      continue;
    }
    Entry e{t->name, "", path, t};
    if (t->available) {
      char reason[512] = "";
      if (!t->available(reason, sizeof reason)) {
        e.reason = reason[0] ? reason : "the backend reports itself unavailable";
        e.iface = nullptr;
      }
    }
    out.push_back(e);
  }
}

#ifndef ANBN_BUILT_ONEDNN
#define ANBN_BUILT_ONEDNN 0
#endif
#ifndef ANBN_BUILT_TORCH
#define ANBN_BUILT_TORCH 0
#endif

// Why a standard plugin may be missing, as this build knows it.
std::string not_built_reason(const std::string &name) {
  if (name == "onednn" && !ANBN_BUILT_ONEDNN)
    return "not built with this libanbn: libdnnl was not found at build time (Debian: libdnnl-dev)";
  if (name != "onednn" && !ANBN_BUILT_TORCH)
    return "not built with this libanbn: configure with -DANBN_WITH_TORCH=ON; with pip, in an environment with "
           "torch: pip install scikit-build-core && pip install --no-build-isolation -C cmake.define.ANBN_WITH_TORCH=ON .";
  return "not built, or set ANBN_BACKEND_PATH";
}

const Entry &current_ref() {
  static const Entry ref{"ref", "", "", anbn_ref_backend()};
  return ref;
}

std::vector<Entry> scan() {
  std::vector<Entry> out;
  out.push_back({"ref", "", "", anbn_ref_backend()});
  const auto dirs = search_dirs();
  for (const auto &dir : dirs) {
    DIR *d = opendir(dir.c_str());
    if (!d) continue;
    std::vector<std::string> files;
    while (dirent *de = readdir(d)) {
      const std::string f = de->d_name;
      if (f.size() > 11 && f.compare(0, 8, "libanbn-") == 0 && f.compare(f.size() - 3, 3, ".so") == 0)
        files.push_back(f);
    }
    closedir(d);
    std::sort(files.begin(), files.end());
    for (const auto &f : files) load_plugin(dir, f, out);
  }
  for (const auto &std_entry : kStandard) {
    bool found = false;
    for (const Entry &e : out) found = found || e.name == std_entry[0];
    if (!found) {
      bool lib_seen = false;  // the library loaded but lacks this backend
      for (const Entry &e : out)
        lib_seen = lib_seen || (e.path.size() >= std::strlen(std_entry[1]) &&
                                e.path.compare(e.path.size() - std::strlen(std_entry[1]), std::string::npos, std_entry[1]) == 0);
      out.push_back({std_entry[0],
                     lib_seen ? std::string(std_entry[1]) + " was found but is unusable (see its entry)"
                              : std::string("not found: no ") + std_entry[1] + " in " + joined(dirs) + " (" +
                                    not_built_reason(std_entry[0]) + ")",
                     "", nullptr});
    }
  }
  return out;
}

std::vector<Entry> &current() {
  if (!g_current) {
    g_generations.push_back(scan());
    g_current = &g_generations.back();
  }
  return *g_current;
}

// "auto" without a shape (a listing) is what auto picks at the seed's: ref
// (the rule itself, which needs the model's shape, is auto_backend in model.cpp).
const Entry *find(const std::vector<Entry> &list, const std::string &asked) {
  const std::string name = asked == "auto" ? "ref" : asked;
  for (const Entry &e : list)
    if (e.name == name && e.iface) return &e;  // a usable one wins over a broken duplicate
  for (const Entry &e : list)
    if (e.name == name) return &e;
  return nullptr;
}

void fill(const Entry &e, anbn_backend_info *info) {
  info->name = e.name.c_str();
  info->available = e.iface ? 1 : 0;
  info->reason = e.reason.c_str();
  info->path = e.path.c_str();
}

bool file_exists(const std::string &path) { return access(path.c_str(), F_OK) == 0; }

// A usable backend `name` from the libraries its name points at, or NULL.
const Entry *targeted(const std::string &name) {
  if (name == "ref") return &current_ref();
  for (const Entry &e : g_targeted)
    if (e.name == name && e.iface) return &e;
  std::vector<std::string> stems{name};
  if (name.find('-') != std::string::npos) stems.push_back(name.substr(0, name.find('-')));
  for (const auto &dir : search_dirs())
    for (const auto &stem : stems) {
      const std::string file = "libanbn-" + stem + ".so";
      if (!file_exists(dir + "/" + file)) continue;
      std::vector<Entry> found;
      load_plugin(dir, file, found);
      for (Entry &e : found) g_targeted.push_back(e);
      for (const Entry &e : g_targeted)
        if (e.name == name && e.iface) return &e;
    }
  return nullptr;
}

}  // namespace

const anbn_backend_iface *registry_resolve(const char *name, std::string *resolved) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (const Entry *t = targeted(std::strcmp(name, "auto") ? name : "ref")) {
    *resolved = t->name;
    return t->iface;
  }
  const Entry *e = find(current(), name);  // not where its name points: scan everything, for the reason
  if (!e) {
    std::string known;
    for (const Entry &x : current()) known += (known.empty() ? "" : ", ") + x.name;
    raise(ANBN_ERR_BACKEND_UNAVAILABLE, "backend '%s' not found: no libanbn-%s.so in %s (known: %s)", name, name,
          joined(search_dirs()).c_str(), known.c_str());
  }
  if (!e->iface) raise(ANBN_ERR_BACKEND_UNAVAILABLE, "backend '%s' is unavailable: %s", e->name.c_str(), e->reason.c_str());
  *resolved = e->name;
  return e->iface;
}

anbn_status copy_info(const anbn_backend_info &i, anbn_backend_info_v2 *out) {
  ANBN_CHECK_ARG(out, "info is NULL");
  anbn_backend_info_v2 v{};
  v.name = i.name, v.available = i.available, v.reason = i.reason, v.path = i.path;
  std::lock_guard<std::mutex> lock(g_mutex);
  const Entry *e = find(current(), i.name);
  v.population = e && e->iface && e->iface->pop_create ? 1 : 0;
  write_out(out, v, "info");
  return ANBN_OK;
}

}  // namespace anbn

using namespace anbn;

extern "C" {

anbn_status anbn_backend_count(size_t *count) {
  return guard([&] {
    ANBN_CHECK_ARG(count, "count is NULL");
    std::lock_guard<std::mutex> lock(g_mutex);
    *count = current().size();
    return ANBN_OK;
  });
}

anbn_status anbn_backend_get(size_t index, anbn_backend_info *info) {
  return guard([&] {
    ANBN_CHECK_ARG(info, "info is NULL");
    std::lock_guard<std::mutex> lock(g_mutex);
    ANBN_CHECK_ARG(index < current().size(), "index %zu is out of range (%zu backends)", index, current().size());
    fill(current()[index], info);
    return ANBN_OK;
  });
}

anbn_status anbn_backend_find(const char *name, anbn_backend_info *info) {
  return guard([&] {
    ANBN_CHECK_ARG(name && info, "name or info is NULL");
    std::lock_guard<std::mutex> lock(g_mutex);
    const Entry *e = find(current(), name);
    ANBN_CHECK_ARG(e, "no backend named '%s'", name);
    fill(*e, info);
    return ANBN_OK;
  });
}

anbn_status anbn_backend_get_v2(size_t index, anbn_backend_info_v2 *info) {
  anbn_backend_info i{};
  const anbn_status s = anbn_backend_get(index, &i);
  if (s == ANBN_OK) return guard([&] { return copy_info(i, info); });
  return s;
}

anbn_status anbn_backend_find_v2(const char *name, anbn_backend_info_v2 *info) {
  anbn_backend_info i{};
  const anbn_status s = anbn_backend_find(name, &i);
  if (s == ANBN_OK) return guard([&] { return copy_info(i, info); });
  return s;
}

anbn_status anbn_backend_rescan(void) {
  return guard([&] {
    std::lock_guard<std::mutex> lock(g_mutex);
    g_generations.push_back(scan());
    g_current = &g_generations.back();
    return ANBN_OK;
  });
}

}  // extern "C"
