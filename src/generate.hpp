// Sampling strings from a model, many at a time in lanes: what anbn_generate
// (one model) and anbn_population_generate (every member) share.
#pragma once
#include <functional>
#include <vector>

#include "model.hpp"
#include "rng.hpp"

namespace anbn {

// One forward step of the live lanes: tokens (B), states h, c (layers, B, H)
// in; out's log_probs (B, O), hidden and cell (B, 1, layers, H).  live[b] is
// the sample that lane b carries.
using GenerateStep = std::function<void(const std::vector<size_t> &live, const int32_t *tokens, const float *h,
                                        const float *c, const anbn_forward_out &out)>;

// Samples seqs.size() strings (START first; END or max_len ends one),
// sample i drawing from rngs[i]; one step call for every unfinished sample.
void sample_lanes(const Shape &shape, int32_t alphabet, const anbn_generate_config &cfg, std::vector<Rng> &rngs,
                  std::vector<std::vector<int32_t>> &seqs, const GenerateStep &step);

// The checked copy of a caller's config (defaults for fields it lacks).
anbn_generate_config read_generate_config(const anbn_generate_config *config);

// Samples per chunk (each sample i its own stream: the seed's generator
// jumped i times, so a sample does not depend on count or chunking).
constexpr size_t kGenerateChunk = 1024;

}  // namespace anbn
