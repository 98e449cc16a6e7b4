// The fused CPU kernels: forward with checkpoints, and the checkpointed reverse sweep.
//
// Layouts (element strides, S = float or double):
//   x       [T, B, N]  strides (sxt, sxb, 1): the neuron dimension must be contiguous
//   gy      [T, B, N]  strides (sgt, sgb, sgn) with sgn 1 or 0 (0: one value per (t, b),
//                      as autograd hands over for y.sum() or y.mean(), read without a copy)
//   params  [14, N]    contiguous
//   state0, state_T, gstate_T, gstate0  [4, B, N] contiguous
//   y, gx   [T, B, N]  contiguous
//   ckpt    [C, 4, B, N] contiguous, C = ceil(T / K); ckpt[c] is the state before step c*K
//   gparams [14, N]    contiguous
// gy and gstate_T may be null (no gradient arrived on that output: zeros).
#pragma once

#include <cstdint>

namespace mtc {
namespace cpu {

template <typename S>
void scan_forward(const S* x, int64_t sxt, int64_t sxb, const S* params, const S* state0,
                  S* y, S* state_T, S* ckpt, int64_t T, int64_t B, int64_t N, int64_t K,
                  int num_threads);

template <typename S>
void scan_backward(const S* x, int64_t sxt, int64_t sxb, const S* params, const S* ckpt,
                   const S* gy, int64_t sgt, int64_t sgb, int64_t sgn, const S* gstate_T, S* gx,
                   S* gparams, S* gstate0, int64_t T, int64_t B, int64_t N, int64_t K,
                   int num_threads);

// Whether this build has OpenMP (otherwise num_threads is ignored and one thread runs).
bool has_openmp();

}  // namespace cpu
}  // namespace mtc
