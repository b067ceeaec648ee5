#include "corpus.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "error.hpp"
#include "../backends/common/cell.hpp"
#include "fileio.hpp"
#include "versioned.hpp"

namespace anbn {

bool language_valid(const anbn_language &lang) {
  const int32_t v = enum_value(lang);
  return v == ANBN_LANG_ANBN || v == ANBN_LANG_ANBNANBN || v == ANBN_LANG_ANBNCN;
}

bool cell_valid(const anbn_cell &cell) {
  return anbn_cells::find(enum_value(cell)) != nullptr;
}

int32_t alphabet_of(const anbn_language &lang) {
  if (!language_valid(lang)) return 0;
  return lang == ANBN_LANG_ANBNCN ? 3 : 2;
}

static std::vector<int32_t> body_letters(anbn_language lang) {
  switch (lang) {
    case ANBN_LANG_ANBN: return {0, 1};
    case ANBN_LANG_ANBNANBN: return {0, 1, 0, 1};
    case ANBN_LANG_ANBNCN: return {0, 1, 2};
    default: break;
  }
  return {};
}

size_t language_length(anbn_language lang, int32_t n) {
  return 2 + body_letters(lang).size() * static_cast<size_t>(n);
}

std::vector<int32_t> language_sequence(anbn_language lang, int32_t n) {
  const int32_t k = alphabet_of(lang);
  std::vector<int32_t> s;
  const auto letters = body_letters(lang);
  s.reserve(2 + letters.size() * static_cast<size_t>(n));
  s.push_back(k + 1);
  for (int32_t letter : letters) s.insert(s.end(), static_cast<size_t>(n), letter);
  s.push_back(k);
  return s;
}

int32_t language_member(anbn_language lang, const int32_t *t, size_t len) {
  const auto letters = body_letters(lang);
  const int32_t k = alphabet_of(lang);
  if (len < 2 || t[0] != k + 1 || t[len - 1] != k) return 0;
  const size_t body = len - 2;
  if (body == 0 || body % letters.size() != 0) return 0;
  const size_t n = body / letters.size();
  for (size_t b = 0; b < letters.size(); ++b)
    for (size_t i = 0; i < n; ++i)
      if (t[1 + b * n + i] != letters[b]) return 0;
  return static_cast<int32_t>(n);
}

const char *sequence_problem(int32_t k, const int32_t *t, size_t n, size_t *bad) {
  *bad = 0;
  if (n < 2) return "a sequence needs at least 2 tokens (START and one more)";
  if (t[0] != k + 1) return "a sequence must begin with START";
  for (size_t i = 0; i < n; ++i) {
    if (t[i] < 0 || t[i] > k + 1) {
      *bad = i;
      return "token out of range";
    }
    if (i > 0 && t[i] == k + 1) {
      *bad = i;
      return "START inside a sequence";
    }
  }
  return "";
}

void shuffle_indices(std::vector<size_t> &idx, Rng &rng) {
  // Fisher-Yates from the back, like numpy's shuffle.
  for (size_t i = idx.size(); i > 1; --i) std::swap(idx[i - 1], idx[rng.below(i)]);
}

void corpus_draw(const anbn_corpus_config &cfg, Rng &rng, anbn_corpus &out) {
  out.alphabet = alphabet_of(cfg.language);
  const size_t nw = static_cast<size_t>(cfg.max_n - cfg.min_n + 1);
  std::vector<uint64_t> cum(nw);
  uint64_t total = 0;
  for (size_t i = 0; i < nw; ++i) {
    static const uint64_t seed_weights[4] = {10, 6, 4, 3};  // then 1 for every later n
    const uint64_t w = cfg.weights ? cfg.weights[i] : (i < 4 ? seed_weights[i] : 1);
    total += w;
    cum[i] = total;
  }
  std::vector<std::vector<int32_t>> seqs;
  seqs.reserve(cfg.count + cfg.num_extra);
  for (size_t m = 0; m < cfg.count; ++m) {
    const uint64_t r = rng.below(total);
    size_t i = 0;
    while (cum[i] <= r) ++i;
    seqs.push_back(language_sequence(cfg.language, cfg.min_n + static_cast<int32_t>(i)));
  }
  for (size_t e = 0; e < cfg.num_extra; ++e) seqs.push_back(language_sequence(cfg.language, cfg.extra_n[e]));
  std::vector<size_t> order(seqs.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  if (cfg.shuffle) shuffle_indices(order, rng);
  for (size_t i : order) out.push(seqs[i].data(), seqs[i].size());
}

static void check_corpus_config(const anbn_corpus_config *c) {
  ANBN_CHECK_ARG(c, "config is NULL");
  ANBN_CHECK_ARG(language_valid(c->language), "unknown language %d", enum_value(c->language));
  ANBN_CHECK_ARG(c->min_n >= 1 && c->max_n >= c->min_n && c->max_n <= 1000000,
                 "need 1 <= min_n <= max_n <= 1e6, got min_n=%d max_n=%d", c->min_n, c->max_n);
  const size_t nw = static_cast<size_t>(c->max_n - c->min_n + 1);
  ANBN_CHECK_ARG(c->count <= 100000000, "count %zu is too large", c->count);
  if (c->weights) {
    ANBN_CHECK_ARG(c->num_weights == nw, "num_weights is %zu, need max_n-min_n+1 = %zu", c->num_weights, nw);
    uint64_t total = 0;
    for (size_t i = 0; i < nw; ++i) total += c->weights[i];
    ANBN_CHECK_ARG(total > 0, "weights are all zero");
  }
  ANBN_CHECK_ARG(c->num_extra == 0 || c->extra_n, "extra_n is NULL but num_extra is %zu", c->num_extra);
  ANBN_CHECK_ARG(c->num_extra <= 100000000, "num_extra %zu is too large", c->num_extra);
  // The most tokens the draw can make, bounded before anything is allocated.
  double worst = double(c->count) * double(language_length(c->language, c->max_n));
  for (size_t e = 0; e < c->num_extra; ++e) {
    ANBN_CHECK_ARG(c->extra_n[e] >= 1 && c->extra_n[e] <= 1000000, "extra_n[%zu] = %d is out of range", e, c->extra_n[e]);
    worst += double(language_length(c->language, c->extra_n[e]));
  }
  ANBN_CHECK_ARG(worst <= double(kMaxCorpusTokens),
                 "the corpus could hold %.3g tokens, more than the %zu allowed (lower count or max_n)", worst,
                 kMaxCorpusTokens);
}

}  // namespace anbn

using namespace anbn;

extern "C" {

const char *anbn_language_name(anbn_language l) {
  if (!language_valid(l)) return nullptr;
  switch (l) {
    case ANBN_LANG_ANBN: return "anbn";
    case ANBN_LANG_ANBNANBN: return "anbnanbn";
    case ANBN_LANG_ANBNCN: return "anbncn";
    default: break;
  }
  return nullptr;
}

anbn_status anbn_language_from_name(const char *name, anbn_language *out) {
  return guard([&] {
    ANBN_CHECK_ARG(name && out, "name or out is NULL");
    for (anbn_language l : {ANBN_LANG_ANBN, ANBN_LANG_ANBNANBN, ANBN_LANG_ANBNCN})
      if (std::strcmp(name, anbn_language_name(l)) == 0) {
        *out = l;
        return ANBN_OK;
      }
    raise(ANBN_ERR_INVALID_ARGUMENT, "unknown language '%s' (anbn, anbnanbn, anbncn)", name);
  });
}

int32_t anbn_language_alphabet(anbn_language l) { return alphabet_of(l); }

anbn_status anbn_language_accepts(anbn_language l, const int32_t *tokens, size_t len, int32_t *n_out) {
  return guard([&] {
    ANBN_CHECK_ARG(language_valid(l), "unknown language %d", enum_value(l));
    ANBN_CHECK_ARG(tokens || len == 0, "tokens is NULL");
    const int32_t n = tokens ? language_member(l, tokens, len) : 0;
    if (n_out) *n_out = n;
    return ANBN_OK;
  });
}

anbn_status anbn_language_sequence(anbn_language l, int32_t n, int32_t *out, size_t cap, size_t *len_out) {
  return guard([&] {
    ANBN_CHECK_ARG(language_valid(l), "unknown language %d", enum_value(l));
    ANBN_CHECK_ARG(n >= 0 && n <= 100000000, "n = %d is out of range", n);
    ANBN_CHECK_ARG(len_out, "len_out is NULL");
    const size_t len = language_length(l, n);  // a length query allocates nothing
    *len_out = len;
    ANBN_CHECK_ARG(out && cap >= len, "buffer holds %zu tokens, the sequence needs %zu", cap, len);
    const auto s = language_sequence(l, n);
    std::copy(s.begin(), s.end(), out);
    return ANBN_OK;
  });
}

anbn_status anbn_language_deterministic(anbn_language l, const int32_t *tokens, size_t len, size_t t, int *out) {
  return guard([&] {
    ANBN_CHECK_ARG(language_valid(l), "unknown language %d", enum_value(l));
    ANBN_CHECK_ARG(tokens && out, "tokens or out is NULL");
    ANBN_CHECK_ARG(len >= 2 && t < len - 1, "position %zu has no next symbol in a sequence of %zu", t, len);
    *out = deterministic_at(tokens, t) ? 1 : 0;
    return ANBN_OK;
  });
}

static anbn_corpus_config corpus_defaults() {
  anbn_corpus_config c{};
  c.struct_size = sizeof c;
  c.language = ANBN_LANG_ANBN;
  c.count = 2000;
  c.min_n = 1;
  c.max_n = 10;
  return c;
}
void(anbn_corpus_config_init)(anbn_corpus_config *c) { init_sized(c, corpus_defaults(), Size02<anbn_corpus_config>::value); }
void anbn_corpus_config_init_v2(anbn_corpus_config *c, size_t size) { init_sized(c, corpus_defaults(), size); }

anbn_status anbn_corpus_generate(const anbn_corpus_config *in, anbn_corpus **out) {
  return guard([&] {
    ANBN_CHECK_ARG(out && in, "config or out is NULL");
    const anbn_corpus_config cfg = read_in(in, corpus_defaults(), "config");
    const anbn_corpus_config *config = &cfg;
    check_corpus_config(config);
    auto c = std::make_unique<anbn_corpus>();
    Rng rng(config->seed);
    corpus_draw(*config, rng, *c);
    *out = c.release();
    return ANBN_OK;
  });
}

anbn_status anbn_corpus_seed(anbn_language l, uint64_t seed, anbn_corpus **train, anbn_corpus **valid) {
  return guard([&] {
    ANBN_CHECK_ARG(train && valid, "train or valid is NULL");
    ANBN_CHECK_ARG(language_valid(l), "unknown language %d", enum_value(l));
    anbn_corpus_config cfg;
    anbn_corpus_config_init(&cfg);
    cfg.language = l;
    Rng rng(seed);
    auto t = std::make_unique<anbn_corpus>(), v = std::make_unique<anbn_corpus>();
    corpus_draw(cfg, rng, *t);
    const int32_t extra[2] = {11, 12};
    cfg.count = 200;
    cfg.extra_n = extra;
    cfg.num_extra = 2;
    cfg.shuffle = 1;
    corpus_draw(cfg, rng, *v);
    *train = t.release();
    *valid = v.release();
    return ANBN_OK;
  });
}

anbn_status anbn_corpus_from_tokens(int32_t k, const int32_t *tokens, const size_t *lengths, size_t count, anbn_corpus **out) {
  return guard([&] {
    ANBN_CHECK_ARG(out, "out is NULL");
    ANBN_CHECK_ARG(k >= 1 && k <= 1000, "alphabet %d is out of range", k);
    ANBN_CHECK_ARG(count == 0 || (tokens && lengths), "tokens or lengths is NULL");
    auto c = std::make_unique<anbn_corpus>();
    c->alphabet = k;
    size_t off = 0;
    for (size_t i = 0; i < count; ++i) {
      size_t bad;
      const char *why = sequence_problem(k, tokens + off, lengths[i], &bad);
      if (*why) {
        if (lengths[i] >= 2 && tokens[off] == k + 1)
          raise(ANBN_ERR_INVALID_ARGUMENT, "sequence %zu: %s (token %d at position %zu; alphabet %d)", i, why, tokens[off + bad], bad, k);
        raise(ANBN_ERR_INVALID_ARGUMENT, "sequence %zu: %s", i, why);
      }
      c->push(tokens + off, lengths[i]);
      off += lengths[i];
    }
    *out = c.release();
    return ANBN_OK;
  });
}

anbn_status anbn_corpus_load(const char *path, int32_t k, anbn_corpus **out) {
  return guard([&] {
    ANBN_CHECK_ARG(path && out, "path or out is NULL");
    ANBN_CHECK_ARG(k >= 1 && k <= 1000, "alphabet %d is out of range", k);
    const std::string text = read_file(path, kMaxCorpusFile, "corpus");
    auto c = std::make_unique<anbn_corpus>();
    c->alphabet = k;
    std::vector<int32_t> seq;
    size_t lineno = 0;
    for (size_t pos = 0; pos < text.size();) {
      ++lineno;
      size_t eol = text.find('\n', pos);
      if (eol == std::string::npos) eol = text.size();
      const std::string line = text.substr(pos, eol - pos);
      pos = eol + 1;
      if (line.find('\0') != std::string::npos)
        raise(ANBN_ERR_FORMAT, "%s:%zu: the line holds a NUL byte (not a text file?)", path, lineno);
      size_t p = line.find_first_not_of(" \t\r");
      if (p == std::string::npos || line[p] == '#') continue;
      seq.clear();
      const char *s = line.c_str();
      while (*s) {
        while (*s == ' ' || *s == '\t' || *s == '\r') ++s;
        if (!*s) break;
        char *end;
        errno = 0;
        long v = std::strtol(s, &end, 10);
        if (end == s || (*end && *end != ' ' && *end != '\t' && *end != '\r') || errno)
          raise(ANBN_ERR_FORMAT, "%s:%zu: not a token list (expected integers separated by spaces)", path, lineno);
        if (v < 0 || v > k + 1) raise(ANBN_ERR_FORMAT, "%s:%zu: token %ld is out of range 0..%d", path, lineno, v, k + 1);
        seq.push_back(static_cast<int32_t>(v));
        s = end;
      }
      size_t bad;
      const char *why = sequence_problem(k, seq.data(), seq.size(), &bad);
      if (*why) raise(ANBN_ERR_FORMAT, "%s:%zu: %s", path, lineno, why);
      c->push(seq.data(), seq.size());
    }
    *out = c.release();
    return ANBN_OK;
  });
}

anbn_status anbn_corpus_save(const anbn_corpus *c, const char *path) {
  return guard([&] {
    ANBN_CHECK_ARG(c && path, "corpus or path is NULL");
    std::string text;
    for (size_t i = 0; i < c->size(); ++i) {
      for (size_t j = 0; j < c->len(i); ++j) {
        if (j) text += ' ';
        text += std::to_string(c->seq(i)[j]);
      }
      text += '\n';
    }
    write_file_atomic(path, text.data(), text.size());
    return ANBN_OK;
  });
}

anbn_status anbn_corpus_size(const anbn_corpus *c, size_t *count) {
  return guard([&] {
    ANBN_CHECK_ARG(c && count, "corpus or count is NULL");
    *count = c->size();
    return ANBN_OK;
  });
}

anbn_status anbn_corpus_alphabet(const anbn_corpus *c, int32_t *k) {
  return guard([&] {
    ANBN_CHECK_ARG(c && k, "corpus or alphabet is NULL");
    *k = c->alphabet;
    return ANBN_OK;
  });
}

anbn_status anbn_corpus_get(const anbn_corpus *c, size_t index, int32_t *out, size_t cap, size_t *len_out) {
  return guard([&] {
    ANBN_CHECK_ARG(c && len_out, "corpus or len_out is NULL");
    ANBN_CHECK_ARG(index < c->size(), "index %zu is out of range (corpus has %zu)", index, c->size());
    *len_out = c->len(index);
    if (!out && cap == 0) return ANBN_OK;
    ANBN_CHECK_ARG(out && cap >= c->len(index), "buffer holds %zu tokens, sequence %zu has %zu", cap, index, c->len(index));
    std::copy(c->seq(index), c->seq(index) + c->len(index), out);
    return ANBN_OK;
  });
}

void anbn_corpus_destroy(anbn_corpus *c) { delete c; }

}  // extern "C"
