// Scoring one sequence from its predictions: what evaluation, capacity
// scans (of one model, or of a population's members in lanes) and probes
// share, so that each reports the same numbers.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "corpus.hpp"

namespace anbn {

// The most forward steps one uncancellable call may take (generation, spot
// checks): seconds of work, not hours.
constexpr double kMaxWorkTokens = 2e7;

inline int32_t argmax(const float *v, int n) {
  int32_t best = 0;
  for (int i = 1; i < n; ++i)
    if (v[i] > v[best]) best = i;  // first maximum, like torch.max
  return best;
}

struct SeqScore {
  double loss = 0;
  int32_t errors = 0, det_errors = 0, det_positions = 0;
  double min_prob = 1.0;  // smallest probability of the right symbol at a deterministic position
};

// Scores one sequence s[0..L) given the log-probs of its L-1 predictions.
inline SeqScore score(const int32_t *s, size_t L, const float *logp, int O) {
  SeqScore r;
  const size_t f = first_letter_change(s, L);  // positions 1..f-1 are ambiguous
  float min_lp = 0.f;                          // exp() once, at the end: it is monotone
  for (size_t t = 0; t + 1 < L; ++t) {
    const float *lp = logp + t * O;
    const int32_t y = s[t + 1];
    r.loss -= lp[y];
    const bool wrong = argmax(lp, O) != y;
    r.errors += wrong;
    if (t == 0 || t >= f) {
      r.det_positions += 1, r.det_errors += wrong;
      min_lp = std::min(min_lp, lp[y]);
    }
  }
  r.min_prob = std::exp(double(min_lp));
  r.loss /= double(L);
  return r;
}

}  // namespace anbn
