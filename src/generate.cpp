// Generation: samples as lanes, one forward per step for every unfinished
// sample, each sample from its own stream.
#include <cmath>
#include <memory>

#include "generate.hpp"
#include "score.hpp"
#include "versioned.hpp"

namespace anbn {

void sample_lanes(const Shape &shape, int32_t alphabet, const anbn_generate_config &cfg, std::vector<Rng> &rngs,
                  std::vector<std::vector<int32_t>> &seqs, const GenerateStep &step) {
  const int O = shape.output;
  const int32_t k = alphabet;
  const size_t n = seqs.size(), L = size_t(shape.layers), H = size_t(shape.hidden);
  const bool with_c = shape.def().cell_state;
  std::vector<size_t> live(n);  // the unfinished samples, one lane each
  for (size_t i = 0; i < n; ++i) seqs[i].assign(1, k + 1), live[i] = i;
  std::vector<float> h(L * n * H, 0.f), cs(h.size(), 0.f), h2, c2, lp;  // states (layers, B, H)
  std::vector<int32_t> tok;
  std::vector<double> w(static_cast<size_t>(O));
  while (!live.empty()) {
    const size_t B = live.size();
    tok.resize(B), h2.resize(B * L * H), c2.resize(h2.size()), lp.resize(B * size_t(O));
    for (size_t b = 0; b < B; ++b) tok[b] = seqs[live[b]].back();
    step(live, tok.data(), h.data(), with_c ? cs.data() : nullptr,
         anbn_forward_out{lp.data(), h2.data(), with_c ? c2.data() : nullptr, nullptr});
    size_t kept = 0;  // the lanes that go on, compacted to the front; their states (layers, B', H)
    for (size_t b = 0; b < B; ++b) {
      std::vector<int32_t> &seq = seqs[live[b]];
      const float *row = &lp[b * size_t(O)];
      int32_t next;
      if (cfg.temperature == 0.f) {
        next = argmax(row, O);
      } else {  // p_o ∝ exp(logp_o / T), drawn by inverse CDF on one uniform
        double mx = -INFINITY, total = 0;
        for (int o = 0; o < O; ++o) mx = std::max(mx, double(row[o]) / cfg.temperature);
        for (int o = 0; o < O; ++o) total += (w[o] = std::exp(double(row[o]) / cfg.temperature - mx));
        double u = rngs[live[b]].uniform() * total;
        next = O - 1;
        for (int o = 0; o < O; ++o) {
          if (u < w[o]) { next = o; break; }
          u -= w[o];
        }
      }
      seq.push_back(next);
      if (next == k || seq.size() >= cfg.max_len) continue;  // END, or as long as allowed
      live[kept] = live[b];
      for (size_t l = 0; l < L; ++l)  // output (b, 0, l, :) -> state (l, kept, :)
        for (size_t j = 0; j < H; ++j) {
          h[(l * B + kept) * H + j] = h2[(b * L + l) * H + j];
          if (with_c) cs[(l * B + kept) * H + j] = c2[(b * L + l) * H + j];
        }
      ++kept;
    }
    live.resize(kept);
    for (size_t l = 1; l < L && kept; ++l)  // close the gaps: layer l's rows were written at stride B
      for (size_t r = 0; r < kept * H; ++r) {
        h[l * kept * H + r] = h[l * B * H + r];
        if (with_c) cs[l * kept * H + r] = cs[l * B * H + r];
      }
  }
}

static anbn_generate_config generate_defaults() {
  anbn_generate_config c{};
  c.struct_size = sizeof c;
  c.count = 10;
  c.temperature = 1.0f;
  c.seed = 0;
  c.max_len = 200;
  return c;
}

anbn_generate_config read_generate_config(const anbn_generate_config *config) {
  const anbn_generate_config cfg = read_in(config, generate_defaults(), "config");
  ANBN_CHECK_ARG(std::isfinite(cfg.temperature) && cfg.temperature >= 0.f, "temperature must be finite and >= 0, got %g", double(cfg.temperature));
  ANBN_CHECK_ARG(cfg.max_len >= 2 && cfg.max_len <= 1000000, "max_len must be in 2..1e6, got %zu", cfg.max_len);
  ANBN_CHECK_ARG(cfg.count <= 1000000, "count %zu is too large", cfg.count);
  ANBN_CHECK_ARG(double(cfg.count) * double(cfg.max_len) <= kMaxWorkTokens,
                 "count x max_len = %zu x %zu exceeds the %.0f steps one call may take", cfg.count, cfg.max_len,
                 kMaxWorkTokens);
  return cfg;
}

}  // namespace anbn

using namespace anbn;

extern "C" {

void(anbn_generate_config_init)(anbn_generate_config *c) {
  init_sized(c, generate_defaults(), Size02<anbn_generate_config>::value);
}
void anbn_generate_config_init_v2(anbn_generate_config *c, size_t size) { init_sized(c, generate_defaults(), size); }

anbn_status anbn_generate(anbn_model *m, const anbn_generate_config *config, anbn_corpus **out, size_t *valid_out) {
  return guard([&] {
    ANBN_CHECK_ARG(m && config && out, "model, config or out is NULL");
    const anbn_generate_config cfg = read_generate_config(config);
    ModelLock lock(m);
    auto c = std::make_unique<anbn_corpus>();
    c->alphabet = m->alphabet;
    size_t valid = 0;
    Rng stream(cfg.seed);
    std::vector<Rng> rngs;
    std::vector<std::vector<int32_t>> seqs;
    for (size_t first = 0; first < cfg.count; first += kGenerateChunk) {
      const size_t n = std::min(kGenerateChunk, cfg.count - first);
      rngs.clear(), seqs.assign(n, {});
      for (size_t i = 0; i < n; ++i) rngs.push_back(stream), stream.jump();
      sample_lanes(m->shape, m->alphabet, cfg, rngs, seqs,
                   [&](const std::vector<size_t> &live, const int32_t *tok, const float *h, const float *cs,
                       const anbn_forward_out &fo) { ANBN_BE(m, forward, tok, int32_t(live.size()), 1, h, cs, &fo); });
      for (const auto &seq : seqs) {
        valid += language_member(m->cfg.language, seq.data(), seq.size()) > 0;
        c->push(seq.data(), seq.size());
      }
    }
    if (valid_out) *valid_out = valid;
    *out = c.release();
    return ANBN_OK;
  });
}

}  // extern "C"
