// Languages of DESIGN.md §1 and the corpus container.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "anbn/anbn.h"
#include "rng.hpp"

struct anbn_corpus {
  int32_t alphabet = 2;            // k
  std::vector<int32_t> tokens;     // all sequences back to back
  std::vector<size_t> offsets{0};  // sequence i is tokens[offsets[i] .. offsets[i+1])

  size_t size() const { return offsets.size() - 1; }
  const int32_t *seq(size_t i) const { return tokens.data() + offsets[i]; }
  size_t len(size_t i) const { return offsets[i + 1] - offsets[i]; }
  void push(const int32_t *t, size_t n) {
    tokens.insert(tokens.end(), t, t + n);
    offsets.push_back(tokens.size());
  }
};

namespace anbn {

// C callers may pass any 32-bit value where an enum is declared; reading
// one outside the enumerators as the enum type is undefined in C++, so
// enums crossing the API are read as integers and validated first.
template <class E>
inline int32_t enum_value(const E &e) {
  static_assert(sizeof(E) == sizeof(int32_t), "enums are 32-bit (*_MAX_ENUM)");
  int32_t v;
  std::memcpy(&v, &e, sizeof v);
  return v;
}
bool language_valid(const anbn_language &lang);
bool cell_valid(const anbn_cell &cell);
int32_t alphabet_of(const anbn_language &lang);  // 0 for an invalid value
// Bounds on what a corpus may hold: a file's size, and the tokens a draw may make.
constexpr size_t kMaxCorpusFile = size_t(256) << 20;
constexpr size_t kMaxCorpusTokens = size_t(1) << 28;

// [START, body(n), END] and its length
size_t language_length(anbn_language lang, int32_t n);
std::vector<int32_t> language_sequence(anbn_language lang, int32_t n);
// n if tokens is a member, else 0.
int32_t language_member(anbn_language lang, const int32_t *tokens, size_t len);
// Positions 1..f-1 of a sequence are the ambiguous ones (after START 0^j the
// next symbol may be 0 or 1), f the index of its first non-0 token after
// START (len if none).  O(f): score it once for the whole sequence.
inline size_t first_letter_change(const int32_t *tokens, size_t len) {
  size_t f = 1;
  while (f < len && tokens[f] == 0) ++f;
  return f;
}
// Predicting tokens[t+1] from tokens[0..t] is fixed unless the prefix is START 0^j, j >= 1.
inline bool deterministic_at(const int32_t *tokens, size_t t) {
  return t == 0 || first_letter_change(tokens, t + 1) <= t;
}

// Checks one sequence for a corpus over k letters; returns "" or what is wrong.
const char *sequence_problem(int32_t k, const int32_t *t, size_t n, size_t *bad_index);

void corpus_draw(const anbn_corpus_config &cfg, Rng &rng, anbn_corpus &out);
void shuffle_indices(std::vector<size_t> &idx, Rng &rng);

}  // namespace anbn
