// A float32 tanh in plain arithmetic, so that the CPU kernel's inner loop vectorises.
//
// glibc's tanhf is a scalar call unless -ffast-math is on (which the kernels must not use:
// it breaks NaN propagation), so the float path uses this one; the double path keeps the
// library tanh (exact to the reference).
//
//   tanh|x| = e / (e + 2), e = expm1(2|x|): 2|x| = n ln2 + r (Cody-Waite, |r| <= ln2/2),
//   expm1(r) = r + r^2 Q(r) with Q a degree-4 minimax fit (scripts/fit_expm1_poly.py),
//   expm1(2|x|) = 2^n expm1(r) + (2^n - 1), 2^n built from the exponent bits; the sign is
//   copied back bitwise. NaN -> NaN, +-inf -> +-1, -0 -> -0.
//
// One path for every x, with no separate small-|x| polynomial: the CPU kernel evaluates
// four of these per neuron-step and is bound by their arithmetic, and computing both
// halves of a two-path version and selecting (what a branch-free vector loop must do)
// costs 39 flops per tanh instead of 22 (counted as in bench/setups.py), for 1.5 instead
// of 2.6 ulp. Maximum error over every
// finite float32, measured exhaustively against double tanh with
// csrc/cpu/fast_tanh_check.cpp: 2.566 ulp (at x = 0.0620, where the rounding of e + 2
// and of the division add up);
// tests/test_fast_tanh.py re-checks a strided sample on every run and fails above 2.6 ulp.
// The polynomial uses fused multiply-adds (fmadd below), about half the instructions of
// separate multiplies and adds; the rest of the kernel keeps FMA contraction off.
// Branch-free (selects only) so the loop stays vectorisable.
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

// expm1(y) = exp(y) - 1 for y in [0, 20] (the caller clamps): y = n ln2 + r with
// |r| <= ln2/2. One Cody-Waite constant is enough: n <= 29 here, so the reduction error
// n * (ln2 - float(ln2)) <= 6e-8 changes e by at most that relatively, and tanh = 1 - 2/(e+2)
// by 2/(e+2) times that, far below an ulp once n >= 1 (for n = 0 the reduction is exact).
inline __attribute__((always_inline)) float expm1_nonneg(float y) {
  const float kMagic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const float t = fmadd(y, 1.44269504088896341f, kMagic);
  const float n = t - kMagic;  // round(y / ln 2)
  const uint32_t ni = float_to_bits(t) - float_to_bits(kMagic);  // the same n, as bits
  const float r = fmadd(n, -0.693147182464599609375f, y);
  float q = 1.388245844e-03f;  // Q4 .. Q0 from scripts/fit_expm1_poly.py
  q = fmadd(q, r, 8.366698399e-03f);
  q = fmadd(q, r, 4.166720435e-02f);
  q = fmadd(q, r, 1.666654199e-01f);
  q = fmadd(q, r, 4.999999702e-01f);
  const float e = fmadd(r * r, q, r);                 // expm1(r)
  const float s = bits_to_float((ni + 127u) << 23);  // 2^n
  return fmadd(s, e, s - 1.0f);
}

inline __attribute__((always_inline)) float tanh_fast(float x) {
  const uint32_t sign = float_to_bits(x) & 0x80000000u;
  const float ax = bits_to_float(float_to_bits(x) & 0x7fffffffu);
  // Beyond 2|x| = 18.1 tanh rounds to 1: clamping at 20 (and NaN to 20, restored below)
  // keeps 2^n finite.
  const float y2 = ax + ax;
  const float em1 = expm1_nonneg(y2 <= 20.0f ? y2 : 20.0f);
  const float res = bits_to_float(float_to_bits(em1 / (em1 + 2.0f)) | sign);
  return x == x ? res : x;
}

// Functors handed to the step functions of mtc_step.h.
struct FastTanhF {
  inline __attribute__((always_inline)) float operator()(float x) const { return tanh_fast(x); }
};

}  // namespace mtc
