// Checkpoints as safetensors: u64 LE header size N, N bytes of JSON header
// (padded with spaces to a multiple of 8), then the raw little-endian data.
// Tensors carry state_dict names; Adam state is optimizer.<name>.exp_avg /
// .exp_avg_sq; config, step, epoch and generator ride in __metadata__.
// Loading validates everything before it allocates or touches a model.
#include <cerrno>
#include <cfloat>
#include <cinttypes>
#include <map>
#include <cmath>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>

#include "fileio.hpp"
#include "model.hpp"

using json = nlohmann::json;

namespace anbn {
namespace {

constexpr size_t kMaxFile = size_t(1) << 31;   // 2 GiB
constexpr uint64_t kMaxHeader = 64u << 20;      // 64 MiB of JSON is already absurd
constexpr int kMaxDepth = 8;
constexpr long long kMaxCount = 1ll << 53;      // epochs, Adam steps: far from overflow, exact in a double

json config_json(const anbn_config &c) {
  return json{{"cell", anbn_cell_name(c.cell)}, {"language", anbn_language_name(c.language)},
              {"hidden", c.hidden},            {"embed", c.embed},
              {"layers", c.layers},            {"seed", c.seed},
              {"lr", double(c.lr)},            {"beta1", double(c.beta1)},
              {"beta2", double(c.beta2)},      {"eps", double(c.eps)},
              {"batch_size", c.batch_size},    {"shuffle", c.shuffle},
              {"threads", c.threads},          {"progress_every", c.progress_every},
              {"clip_norm", double(c.clip_norm)}};
}

// JSON nesting deeper than kMaxDepth is rejected before parsing (no stack bomb).
bool depth_ok(const std::string &s) {
  int depth = 0;
  bool in_str = false, esc = false;
  for (char ch : s) {
    if (in_str) {
      if (esc) esc = false;
      else if (ch == '\\') esc = true;
      else if (ch == '"') in_str = false;
    } else if (ch == '"') {
      in_str = true;
    } else if (ch == '{' || ch == '[') {
      if (++depth > kMaxDepth) return false;
    } else if (ch == '}' || ch == ']') {
      --depth;
    }
  }
  return true;
}

struct TensorRef {
  std::vector<int64_t> shape;
  const char *data;
  size_t numel;
};

[[noreturn]] void bad(const char *path, const std::string &what) {
  raise(ANBN_ERR_FORMAT, "'%s' is not a valid anbn checkpoint: %s", path, what.c_str());
}

// Config values by JSON type only: integers must be JSON integers that fit
// their field (1.8e19 is not a seed), reals finite numbers.  Ranges are
// check_config's, the one rule for creating, set_training and loading.
int32_t get_int(const json &j, const char *key, const char *path) {
  if (!j.contains(key)) bad(path, std::string("config lacks '") + key + "'");
  const json &v = j[key];
  if (!v.is_number_integer() || v.get<int64_t>() < INT32_MIN || v.get<int64_t>() > INT32_MAX ||
      (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT32_MAX)))
    bad(path, std::string("config '") + key + "' is not a 32-bit integer");
  return int32_t(v.get<int64_t>());
}

uint64_t get_u64(const json &j, const char *key, const char *path) {
  if (!j.contains(key)) bad(path, std::string("config lacks '") + key + "'");
  const json &v = j[key];
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
    bad(path, std::string("config '") + key + "' is not an unsigned 64-bit integer");
  return v.get<uint64_t>();
}

float get_real(const json &j, const char *key, const char *path) {
  if (!j.contains(key)) bad(path, std::string("config lacks '") + key + "'");
  const json &v = j[key];
  if (!v.is_number()) bad(path, std::string("config '") + key + "' is not a number");
  const double d = v.get<double>();
  if (!std::isfinite(d) || std::fabs(d) > double(FLT_MAX)) bad(path, std::string("config '") + key + "' is not a finite float");
  return float(d);
}

// Reads the config from metadata, or infers it from the tensor shapes.
anbn_config read_config(const json &meta, const std::map<std::string, TensorRef> &t, const char *path) {
  anbn_config c;
  anbn_config_init(&c);
  if (meta.is_object() && meta.contains("anbn.config")) {
    if (!meta["anbn.config"].is_string()) bad(path, "anbn.config is not a string");
    const std::string s = meta["anbn.config"].get<std::string>();
    if (!depth_ok(s)) bad(path, "anbn.config is nested too deeply");
    json j = json::parse(s, nullptr, false);
    if (!j.is_object()) bad(path, "anbn.config is not a JSON object");
    if (!j.contains("cell") || !j["cell"].is_string() ||
        anbn_cell_from_name(j["cell"].get<std::string>().c_str(), &c.cell) != ANBN_OK)
      bad(path, "config has no valid 'cell'");
    if (!j.contains("language") || !j["language"].is_string() ||
        anbn_language_from_name(j["language"].get<std::string>().c_str(), &c.language) != ANBN_OK)
      bad(path, "config has no valid 'language'");
    c.hidden = get_int(j, "hidden", path);
    c.embed = get_int(j, "embed", path);
    c.layers = get_int(j, "layers", path);
    c.seed = get_u64(j, "seed", path);
    c.lr = get_real(j, "lr", path);
    c.beta1 = get_real(j, "beta1", path);
    c.beta2 = get_real(j, "beta2", path);
    c.eps = get_real(j, "eps", path);
    c.batch_size = get_int(j, "batch_size", path);
    c.shuffle = get_int(j, "shuffle", path);
    c.threads = get_int(j, "threads", path);
    c.progress_every = get_int(j, "progress_every", path);
    if (j.contains("clip_norm")) c.clip_norm = get_real(j, "clip_norm", path);
    return c;
  }
  // A plain state_dict (no metadata): V, E from the embedding; the cell whose
  // definition fits its module's name (rnn.* fits every cell: 0.2 named them
  // all so), gate count and peephole tensors.
  auto need = [&](const std::string &n, size_t nd) -> const TensorRef & {
    auto it = t.find(n);
    if (it == t.end()) bad(path, "no tensor '" + n + "'");
    if (it->second.shape.size() != nd) bad(path, "'" + n + "' has the wrong rank");
    return it->second;
  };
  std::string mod = "rnn";
  for (const anbn_cells::Def &d : anbn_cells::kCells)
    if (t.count(std::string(d.module) + ".weight_hh_l0")) mod = d.module;
  const auto &emb = need("embedding.weight", 2);
  const auto &hh = need(mod + ".weight_hh_l0", 2);
  const int64_t V = emb.shape[0], E = emb.shape[1], H = hh.shape[1];
  if (H < 1 || H > 8192 || hh.shape[0] % H) bad(path, mod + ".weight_hh_l0 has an impossible shape");
  const int64_t G = hh.shape[0] / H;
  const bool peephole = t.count(mod + ".weight_peephole_l0") > 0;
  const anbn_cells::Def *cell = nullptr;
  for (const anbn_cells::Def &d : anbn_cells::kCells)
    if (!cell && (mod == d.module || mod == "rnn") && d.gates == G && (d.peephole > 0) == peephole) cell = &d;
  if (cell) c.cell = anbn_cell(cell->id);
  else bad(path, mod + ".weight_hh_l0 has " + std::to_string(hh.shape[0]) + " rows, not what a " + mod + " has for H = " + std::to_string(H));
  if (V == 4) c.language = ANBN_LANG_ANBN;
  else if (V == 5) c.language = ANBN_LANG_ANBNCN;
  else bad(path, "embedding.weight has " + std::to_string(V) + " rows; expected 4 (k=2) or 5 (k=3)");
  c.hidden = int32_t(H);
  c.embed = int32_t(E > 8192 ? 0 : E);
  int32_t L = 0;
  while (L < 64 && t.count(mod + ".weight_ih_l" + std::to_string(L))) ++L;
  c.layers = L;
  return c;
}

}  // namespace
}  // namespace anbn

using namespace anbn;

extern "C" {

anbn_status anbn_save(anbn_model *m, const char *path) {
  return guard([&] {
    ANBN_CHECK_ARG(m && path, "model or path is NULL");
    ModelLock lock(m);
    const Snapshot s = take_snapshot(m);
    json h = json::object();
    size_t off = 0;
    auto add = [&](const std::string &name, const ParamSpec &p) {
      json shape = p.ndim == 2 ? json::array({p.shape[0], p.shape[1]}) : json::array({p.shape[0]});
      h[name] = {{"dtype", "F32"}, {"shape", shape}, {"data_offsets", {off, off + p.numel * 4}}};
      off += p.numel * 4;
    };
    for (const ParamSpec &p : m->params) add(p.name, p);
    for (const ParamSpec &p : m->params) add("optimizer." + p.name + ".exp_avg", p);
    for (const ParamSpec &p : m->params) add("optimizer." + p.name + ".exp_avg_sq", p);
    char rng[80];
    std::snprintf(rng, sizeof rng, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64, s.rng.s[0], s.rng.s[1],
                  s.rng.s[2], s.rng.s[3]);
    h["__metadata__"] = {{"format", "pt"},
                         {"anbn.version", ANBN_VERSION_STRING},
                         {"anbn.config", config_json(m->cfg).dump()},
                         {"anbn.epoch", std::to_string(s.epoch)},
                         {"anbn.rng", rng},
                         {"optimizer.step", std::to_string(s.step)},
                         {"optimizer.type", "Adam"}};
    std::string header = h.dump();
    header.append((8 - header.size() % 8) % 8, ' ');
    std::string buf(8 + header.size() + off, '\0');
    const uint64_t n = header.size();
    for (int i = 0; i < 8; ++i) buf[i] = char((n >> (8 * i)) & 0xff);
    std::memcpy(&buf[8], header.data(), header.size());
    char *data = &buf[8 + header.size()];
    for (const std::vector<float> *v : {&s.p, &s.m, &s.v}) {
      std::memcpy(data, v->data(), v->size() * 4);
      data += v->size() * 4;
    }
    write_file_atomic(path, buf.data(), buf.size());
    return ANBN_OK;
  });
}

anbn_status anbn_load(const char *path, const char *backend, anbn_model **out) {
  return guard([&] {
    ANBN_CHECK_ARG(path && out, "path or out is NULL");
    const std::string file = read_file(path, kMaxFile);
    if (file.size() < 8) bad(path, "shorter than the 8-byte header size");
    uint64_t n = 0;
    for (int i = 0; i < 8; ++i) n |= uint64_t(uint8_t(file[i])) << (8 * i);
    if (n > kMaxHeader || n > file.size() - 8) bad(path, "header size " + std::to_string(n) + " exceeds the file");
    const std::string header = file.substr(8, n);
    if (!depth_ok(header)) bad(path, "header JSON is nested too deeply");
    json h = json::parse(header, nullptr, false);
    if (h.is_discarded() || !h.is_object()) bad(path, "header is not a JSON object");
    const char *data = file.data() + 8 + n;
    const uint64_t data_size = file.size() - 8 - n;
    std::map<std::string, TensorRef> tensors;
    uint64_t max_end = 0;
    json meta;
    for (auto it = h.begin(); it != h.end(); ++it) {
      if (it.key() == "__metadata__") {
        meta = it.value();
        if (!meta.is_object()) bad(path, "__metadata__ is not an object");
        continue;
      }
      const json &t = it.value();
      const std::string &name = it.key();
      if (!t.is_object() || !t.contains("dtype") || !t.contains("shape") || !t.contains("data_offsets"))
        bad(path, "tensor '" + name + "' lacks dtype, shape or data_offsets");
      if (!t["dtype"].is_string() || t["dtype"].get<std::string>() != "F32")
        bad(path, "tensor '" + name + "' is not F32");
      const json &shape = t["shape"], &offs = t["data_offsets"];
      if (!shape.is_array() || shape.size() > 2 || !offs.is_array() || offs.size() != 2)
        bad(path, "tensor '" + name + "' has a bad shape or data_offsets");
      TensorRef r;
      uint64_t numel = 1;
      for (const json &d : shape) {
        if (!d.is_number_unsigned() || d.get<uint64_t>() > (1u << 30)) bad(path, "tensor '" + name + "' has a bad dimension");
        numel *= d.get<uint64_t>();
        r.shape.push_back(d.get<int64_t>());
      }
      if (!offs[0].is_number_unsigned() || !offs[1].is_number_unsigned()) bad(path, "tensor '" + name + "' has bad offsets");
      const uint64_t b = offs[0].get<uint64_t>(), e = offs[1].get<uint64_t>();
      if (b > e || e > data_size || numel > (uint64_t(1) << 40) || e - b != numel * 4)
        bad(path, "tensor '" + name + "' data lies outside the file or has the wrong size (truncated?)");
      max_end = std::max(max_end, e);
      r.data = data + b;
      r.numel = size_t(numel);
      tensors[name] = r;
    }
    if (max_end != data_size) bad(path, "data region is " + std::to_string(data_size) + " bytes, tensors use " + std::to_string(max_end));
    anbn_config cfg = read_config(meta, tensors, path);
    cfg.backend = backend ? backend : "auto";
    try {
      check_config(cfg);
    } catch (const Error &e) {
      bad(path, e.what());
    }
    // Everything must match the architecture exactly before a model is built.
    Shape shape{cfg.cell, cfg.layers, cfg.hidden, cfg.embed ? cfg.embed : cfg.hidden,
                alphabet_of(cfg.language) + 2, alphabet_of(cfg.language) + 1};
    const auto specs = param_layout(shape);
    const bool has_opt = tensors.count("optimizer." + specs[0].name + ".exp_avg") > 0;
    // Every tensor the architecture needs must be in the file with its exact
    // shape before anything is allocated: memory stays proportional to the file.
    // Names as this release saves them, or the rnn.* every cell had in 0.2.
    auto find_tensor = [&](const std::string &name, const ParamSpec &s) -> const TensorRef & {
      auto it = tensors.find(name);
      if (it == tensors.end()) {
        const std::string old = legacy_name(s.name, cfg.cell);
        if (!old.empty()) it = tensors.find(std::string(name).replace(name.find(s.name), s.name.size(), old));
      }
      if (it == tensors.end()) bad(path, "missing tensor '" + name + "'");
      if (it->second.shape != std::vector<int64_t>(s.shape, s.shape + s.ndim))
        bad(path, "tensor '" + name + "' has the wrong shape");
      return it->second;
    };
    for (const ParamSpec &s : specs) {
      find_tensor(s.name, s);
      if (has_opt) find_tensor("optimizer." + s.name + ".exp_avg", s), find_tensor("optimizer." + s.name + ".exp_avg_sq", s);
    }
    if (tensors.size() != specs.size() * (has_opt ? 3 : 1)) bad(path, "it holds tensors this model does not have");
    const size_t total = param_total(specs);
    std::vector<float> p(total), mo(total, 0.f), vo(total, 0.f);
    auto take = [&](const std::string &name, const ParamSpec &s, float *dst) {
      std::memcpy(dst, find_tensor(name, s).data, s.numel * 4);
      for (size_t i = 0; i < s.numel; ++i)
        if (!std::isfinite(dst[i])) bad(path, "tensor '" + name + "' holds a non-finite value");
    };
    for (const ParamSpec &s : specs) take(s.name, s, p.data() + s.offset);
    if (has_opt)
      for (const ParamSpec &s : specs) {
        take("optimizer." + s.name + ".exp_avg", s, mo.data() + s.offset);
        take("optimizer." + s.name + ".exp_avg_sq", s, vo.data() + s.offset);
      }
    for (float x : vo)
      if (x < 0.f) bad(path, "optimizer exp_avg_sq holds a negative value");
    int64_t step = 0, epoch = 0;
    Rng rng(0);
    bool has_rng = false;
    auto meta_int = [&](const char *key, int64_t *dst) {
      if (!meta.is_object() || !meta.contains(key)) return;
      if (!meta[key].is_string()) bad(path, std::string(key) + " is not a string");
      const std::string s = meta[key].get<std::string>();
      char *end = nullptr;
      errno = 0;
      const long long v = std::strtoll(s.c_str(), &end, 10);
      if (s.empty() || *end || errno || v < 0 || v > kMaxCount)
        bad(path, std::string(key) + " is not a count in 0..2^53");
      *dst = v;
    };
    meta_int("optimizer.step", &step);
    meta_int("anbn.epoch", &epoch);
    if (meta.is_object() && meta.contains("anbn.rng")) {
      const json &r = meta["anbn.rng"];
      if (!r.is_string() || r.get<std::string>().size() != 64) bad(path, "anbn.rng is not 64 hex digits");
      const std::string s = r.get<std::string>();
      for (int i = 0; i < 4; ++i) {
        char *end = nullptr;
        const std::string part = s.substr(size_t(i) * 16, 16);
        rng.s[i] = std::strtoull(part.c_str(), &end, 16);
        if (*end) bad(path, "anbn.rng is not 64 hex digits");
      }
      has_rng = true;
    }
    if (!has_opt && step > 0) bad(path, "optimizer.step without optimizer state");
    auto m = std::make_unique<anbn_model>();
    model_build(m.get(), cfg);
    ANBN_BE(m.get(), set_params, p.data(), p.size());
    ANBN_BE(m.get(), set_adam, mo.data(), vo.data(), mo.size(), step);
    m->adam_step = step;
    m->epoch = epoch;
    if (has_rng) m->rng = rng;
    *out = m.release();
    return ANBN_OK;
  });
}

}  // extern "C"
