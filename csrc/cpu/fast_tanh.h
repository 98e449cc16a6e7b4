// A float32 tanh in plain arithmetic, so that the CPU kernel's inner loop vectorises.
//
// glibc's tanhf is a scalar call unless -ffast-math is on (which the kernels must not use:
// it breaks NaN propagation), so the float path uses this one; the double path keeps the
// library tanh (exact to the reference).
//
//   |x| <  0.625: x + x^3 * P(x^2), P a degree-4 least-squares fit of (tanh(x)/x - 1)/x^2
//   |x| >= 0.625: sign(x) * e / (e + 2), e = expm1(2|x|) by Cody-Waite reduction and a
//                degree-7 Taylor polynomial, 2^n built from the exponent bits
//   NaN -> NaN, +-inf -> +-1.
//
// Maximum error over every finite float32, measured exhaustively against double tanh with
// csrc/cpu/fast_tanh_check.cpp: 1.498 ulp (at x = 3.8124); tests/test_fast_tanh.py re-checks
// a strided sample on every run and fails above 2 ulp. (A single e/(e+2) path for all x
// would save the polynomial but reaches 2.37 ulp near x = 0.03.)
// The polynomials use fused multiply-adds (fmadd below), about half the instructions of
// separate multiplies and adds; the rest of the kernel keeps FMA contraction off.
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

// a * b + c rounded once. On x86-64-v3/v4 (and aarch64) this is one FMA instruction; on
// older x86 it is glibc's correctly rounded fmaf (scalar, slow). Both round identically, so
// every instruction-set clone gives bitwise the same tanh.
inline __attribute__((always_inline)) float fmadd(float a, float b, float c) {
  return __builtin_fmaf(a, b, c);
}

// expm1(y) = exp(y) - 1 for y in [0, 88] (the caller clamps): y = n ln2 + r with
// |r| <= ln2/2 (Cody-Waite, exact for n <= 127 with FMA), expm1(r) by its degree-7 Taylor
// polynomial, then expm1(y) = 2^n expm1(r) + (2^n - 1), 2^n built from the exponent bits.
inline __attribute__((always_inline)) float expm1_nonneg(float y) {
  const float kMagic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const float t = fmadd(y, 1.44269504088896341f, kMagic);
  const float n = t - kMagic;  // round(y / ln 2)
  const uint32_t ni = float_to_bits(t) - float_to_bits(kMagic);  // the same n, as bits
  float r = fmadd(n, -0.693145751953125f, y);
  r = fmadd(n, -1.428606765330187e-06f, r);
  float q = 1.0f / 5040.0f;
  q = fmadd(q, r, 1.0f / 720.0f);
  q = fmadd(q, r, 1.0f / 120.0f);
  q = fmadd(q, r, 1.0f / 24.0f);
  q = fmadd(q, r, 1.0f / 6.0f);
  q = fmadd(q, r, 0.5f);
  const float e = fmadd(r * r, q, r);                 // expm1(r)
  const float s = bits_to_float((ni + 127u) << 23);  // 2^n
  return fmadd(s, e, s - 1.0f);
}

inline __attribute__((always_inline)) float tanh_fast(float x) {
  const uint32_t sign = float_to_bits(x) & 0x80000000u;
  const float ax = bits_to_float(float_to_bits(x) & 0x7fffffffu);
  // Small |x|: odd polynomial (tanh(x) = e/(e+2) would lose ~1 ulp to the rounding of e+2).
  const float x2 = x * x;
  float p = -0.005703992675989866f;
  p = fmadd(p, x2, 0.020637817680835724f);
  p = fmadd(p, x2, -0.053739145398139954f);
  p = fmadd(p, x2, 0.133314311504364f);
  p = fmadd(p, x2, -0.3333328068256378f);
  const float small = fmadd(x * x2, p, x);
  // Large |x|: tanh|x| = e / (e + 2) with e = expm1(2|x|); 2|x| > 88 (and NaN) are clamped,
  // NaN is restored below; the sign is copied back bitwise.
  const float y2 = 2.0f * ax;
  const float em1 = expm1_nonneg(y2 <= 88.0f ? y2 : 88.0f);
  const float large = bits_to_float(float_to_bits(em1 / (em1 + 2.0f)) | sign);
  const float res = ax < 0.625f ? small : large;
  return x == x ? res : x;
}

// Functors handed to the step functions of mtc_step.h.
struct FastTanhF {
  inline __attribute__((always_inline)) float operator()(float x) const { return tanh_fast(x); }
};

}  // namespace mtc
