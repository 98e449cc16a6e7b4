// Accuracy check of mtc::tanh_fast against double-precision tanh over the finite float32
// values (and NaN/inf). `fast_tanh_check [stride]` visits every stride-th bit pattern
// (default 1: all of them, about 90 s; the test suite uses a stride). Prints
// "max_ulp <value> at <x>" and "special ok|FAIL". Built and run by tests/test_fast_tanh.py.
// Exhaustive result (stride 1, x86-64, 2026-12-04): see fast_tanh.h.
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include "fast_tanh.h"

static double ulp_of(float f) {  // spacing of floats at |f|
  float a = std::fabs(f);
  return (double)std::nextafter(a, INFINITY) - (double)a;
}

int main(int argc, char** argv) {
  const uint64_t stride = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1;
  double worst = 0.0;
  float worst_x = 0.0f;
  for (uint64_t b = 0; b < 0x7f800000ull; b += stride) {  // non-negative finite floats
    const float x = mtc::bits_to_float((uint32_t)b);
    for (int sgn = 0; sgn < 2; ++sgn) {
      const float xs = sgn ? -x : x;
      const double exact = std::tanh((double)xs);
      const float got = mtc::tanh_fast(xs);
      const double err = std::fabs((double)got - exact) / ulp_of((float)exact);
      if (err > worst) { worst = err; worst_x = xs; }
    }
  }
  bool ok = std::isnan(mtc::tanh_fast(NAN)) && mtc::tanh_fast(INFINITY) == 1.0f &&
            mtc::tanh_fast(-INFINITY) == -1.0f && mtc::tanh_fast(0.0f) == 0.0f &&
            std::signbit(mtc::tanh_fast(-0.0f));
  std::printf("max_ulp %.4f at %.9g\nspecial %s\n", worst, worst_x, ok ? "ok" : "FAIL");
  return ok ? 0 : 1;
}
