// A float32 tanh in plain arithmetic, so that the CPU kernel's inner loop vectorises.
//
// glibc's tanhf is a scalar call unless -ffast-math is on (which the kernels must not use:
// it breaks NaN propagation), so the float path uses this one; the double path keeps the
// library tanh (exact to the reference).
//
//   |x| <  0.625: x + x^3 * P(x^2), P a degree-4 least-squares fit of (tanh(x)/x - 1)/x^2
//   |x| >= 0.625: sign(x) * (1 - 2 / (exp(2|x|) + 1)), exp by Cody-Waite reduction and a
//                degree-7 Taylor polynomial, 2^n built from the exponent bits
//   NaN -> NaN, +-inf -> +-1.
//
// Maximum error over every finite float32, measured exhaustively against double tanh with
// csrc/cpu/fast_tanh_check.cpp: 1.343 ulp (at x = 0.6326); tests/test_fast_tanh.py re-checks
// a strided sample on every run and fails above 2 ulp.
// Branch-free (both halves computed, then a select) so the loop stays vectorisable.
#pragma once

#include <cstdint>
#include <cstring>

namespace mtc {

inline __attribute__((always_inline)) float bits_to_float(uint32_t b) {
  float f;
  std::memcpy(&f, &b, sizeof f);
  return f;
}
inline __attribute__((always_inline)) uint32_t float_to_bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  return b;
}

// exp(y) for y in [0, 88] (the caller clamps); about 1 ulp.
inline __attribute__((always_inline)) float exp_nonneg(float y) {
  const float kMagic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const float t = y * 1.44269504088896341f + kMagic;
  const float n = t - kMagic;  // round(y / ln 2)
  const uint32_t ni = float_to_bits(t) - float_to_bits(kMagic);  // the same n, as bits
  // Cody-Waite: ln2_hi has few bits, so n * ln2_hi is exact for n <= 127.
  const float r = (y - n * 0.693359375f) - n * -2.12194440e-4f;
  float q = 1.0f / 5040.0f;
  q = q * r + 1.0f / 720.0f;
  q = q * r + 1.0f / 120.0f;
  q = q * r + 1.0f / 24.0f;
  q = q * r + 1.0f / 6.0f;
  q = q * r + 0.5f;
  q = q * r + 1.0f;
  q = q * r + 1.0f;
  return q * bits_to_float((ni + 127u) << 23);
}

inline __attribute__((always_inline)) float tanh_fast(float x) {
  const float ax = x < 0.0f ? -x : x;
  // Small |x|: odd polynomial.
  const float x2 = x * x;
  float p = -0.005703992675989866f;
  p = p * x2 + 0.020637817680835724f;
  p = p * x2 + -0.053739145398139954f;
  p = p * x2 + 0.133314311504364f;
  p = p * x2 + -0.3333328068256378f;
  const float small = x + x * x2 * p;
  // Large |x|: from exp; 2|x| > 88 (and NaN) are clamped, NaN is restored below.
  const float y2 = 2.0f * ax;
  const float yc = y2 <= 88.0f ? y2 : 88.0f;
  const float mag = 1.0f - 2.0f / (exp_nonneg(yc) + 1.0f);
  const float large = x < 0.0f ? -mag : mag;
  const float res = ax < 0.625f ? small : large;
  return x == x ? res : x;
}

// Functors handed to the step functions of mtc_step.h.
struct FastTanhF {
  inline __attribute__((always_inline)) float operator()(float x) const { return tanh_fast(x); }
};

}  // namespace mtc
