// The core's generator, documented so that anyone can reproduce its bits:
//   state: xoshiro256** (Blackman & Vigna), seeded by four SplitMix64 outputs
//          of the 64-bit seed;
//   below(n): uniform integer in [0, n) by rejection of the top remainder
//          (no modulo bias; integer only, so identical on every platform);
//   uniform(): (next() >> 11) * 2^-53, in [0, 1);
//   normal(): Box-Muller, sqrt(-2 ln(1-u1)) * cos(2 pi u2), one value per pair;
//   jump(): advances 2^128 steps (the authors' jump polynomial): streams that
//          never overlap, e.g. one per generated sample.
#pragma once
#include <cmath>
#include <cstdint>

namespace anbn {

struct Rng {
  uint64_t s[4];

  explicit Rng(uint64_t seed = 0) { reseed(seed); }

  void reseed(uint64_t seed) {
    uint64_t x = seed;
    for (auto &w : s) {
      x += 0x9E3779B97F4A7C15ull;
      uint64_t z = x;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      w = z ^ (z >> 31);
    }
  }

  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  uint64_t next() {
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }

  // Uniform in [0, n), n >= 1.
  uint64_t below(uint64_t n) {
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;  // multiple of n
    uint64_t x;
    do x = next();
    while (x >= limit);
    return x % n;
  }

  void jump() {
    static const uint64_t kJump[] = {0x180ec6d33cfd0aba, 0xd5a61266f0c9392c, 0xa9582618e03fc9aa, 0x39abdc4529b1661c};
    uint64_t t[4] = {0, 0, 0, 0};
    for (uint64_t j : kJump)
      for (int b = 0; b < 64; ++b) {
        if (j & (uint64_t(1) << b))
          for (int w = 0; w < 4; ++w) t[w] ^= s[w];
        next();
      }
    for (int w = 0; w < 4; ++w) s[w] = t[w];
  }

  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  double normal() {
    const double u1 = uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log1p(-u1)) * std::cos(6.283185307179586 * u2);
  }
};

}  // namespace anbn
