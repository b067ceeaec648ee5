// exp, log, tanh and sigmoid in double for the reference backend, written
// out (no libm calls) so that loops over many sequences vectorize, and so the
// oracle gives the same bits on every machine and libm.  Accurate to a few
// ulp (exp, log) and to ~2e-16 absolute (tanh, sigmoid), far inside every
// tolerance of DESIGN.md §6.  NaN goes in, NaN comes out: the callers' checks
// for non-finite losses rely on it.  Compile with -ffp-contract=off (no FMA:
// the same bits everywhere) and -fno-trapping-math (lets the clamps vectorize).
#pragma once
#include <cstdint>
#include <cstring>

namespace ref_math {

// Bit patterns as unsigned integers: their arithmetic wraps, never overflows.
inline double bits_to_double(uint64_t i) {
  double d;
  std::memcpy(&d, &i, sizeof d);
  return d;
}
inline uint64_t double_to_bits(double d) {
  uint64_t i;
  std::memcpy(&i, &d, sizeof i);
  return i;
}

// exp(x) = 2^k exp(r), k = round(x / ln 2), |r| <= ln2 / 2, exp(r) by its
// Taylor series to r^13 (truncation < 1e-17 relative).  x is clamped to
// [-708, 709], so the result is a normal double (or NaN for NaN).
inline double exp(double x) {
  constexpr double kShift = 6755399441055744.0;  // 1.5 * 2^52: adding it rounds to an integer
  constexpr double kLog2e = 1.4426950408889634, kLn2Hi = 6.93147180369123816490e-01,
                   kLn2Lo = 1.90821492927058770002e-10;
  x = x < -708.0 ? -708.0 : x;
  x = x > 709.0 ? 709.0 : x;
  const double kd = (x * kLog2e + kShift) - kShift;  // round(x / ln 2)
  const double r = (x - kd * kLn2Hi) - kd * kLn2Lo;
  double p = 1.0 / 6227020800.0;  // 1/13!
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  const uint64_t k = double_to_bits(kd + kShift) - double_to_bits(kShift);  // kd as an integer
  return p * bits_to_double((k + 1023) << 52);  // 2^kd; kd in [-1022, 1023] after the clamp
}

// log(x) for x > 0 finite and normal (NaN for NaN): x = 2^e m, m in [sqrt(1/2), sqrt(2)), and
// log m = 2 atanh(u), u = (m-1)/(m+1), |u| < 0.172, by its series to u^23.
inline double log(double x) {
  constexpr double kLn2 = 0.69314718055994530942;
  const uint64_t bits = double_to_bits(x);
  // The exponent such that m lands in [sqrt(1/2), sqrt(2)): a mantissa at or
  // above sqrt(2)'s carries into the exponent field.
  constexpr uint64_t kSqrt2Mant = 0x6a09e667f3bcdULL;  // mantissa bits of sqrt(2)
  const uint64_t ebits = ((bits + ((1ULL << 52) - kSqrt2Mant)) >> 52) & 0x7ff;
  const double m = bits_to_double(bits - ((ebits - 1023) << 52));
  // ebits as a double without an int64 conversion (none in SSE2/AVX2): 2^52 + ebits, less 2^52.
  const double e = (bits_to_double(0x4330000000000000ULL | ebits) - 4503599627370496.0) - 1023.0;
  const double u = (m - 1.0) / (m + 1.0), u2 = u * u;
  double s = 1.0 / 23;
  s = s * u2 + 1.0 / 21;
  s = s * u2 + 1.0 / 19;
  s = s * u2 + 1.0 / 17;
  s = s * u2 + 1.0 / 15;
  s = s * u2 + 1.0 / 13;
  s = s * u2 + 1.0 / 11;
  s = s * u2 + 1.0 / 9;
  s = s * u2 + 1.0 / 7;
  s = s * u2 + 1.0 / 5;
  s = s * u2 + 1.0 / 3;
  s = s * u2 + 1.0;
  return e * kLn2 + 2.0 * u * s + (x - x);  // + (x - x): NaN stays NaN
}

inline double tanh(double x) { return 1.0 - 2.0 / (exp(2.0 * x) + 1.0); }
inline double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

}  // namespace ref_math
