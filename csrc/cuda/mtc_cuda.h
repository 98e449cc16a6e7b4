// The fused CUDA kernels' host API: plain C++ on raw device pointers and a stream handle
// (no CUDA or torch headers here, so the pybind11 binding compiles with the host compiler).
//
// Layouts (elements) as for the CPU kernels (csrc/cpu/mtc_cpu.h): x, gy [T, B, N] with any
// T and B strides and neurons contiguous (gy_mode 2: one gy value per (t, b), stride 0 over
// neurons); params [14, N]; states [4, B, N]; y, gx [T, B, N]; ckpt [C, 4, B, N],
// C = ceil(T / K); scratch [min(K, T), 4, B, N]; partial [14, B, N].
// x, y, gy, gx have the input dtype; everything else the state dtype (double for double
// inputs, float otherwise).
#pragma once

#include <cstdint>

namespace mtc {
namespace cuda {

enum InputDtype : int { F32 = 0, F64 = 1, F16 = 2, BF16 = 3 };

// Each throws std::runtime_error with the CUDA error text when a launch fails.
void scan_forward(int dtype, int device, void* stream, const void* x, int64_t sxt, int64_t sxb,
                  const void* params, const void* state0, void* y, void* state_T, void* ckpt,
                  int64_t T, int64_t B, int64_t N, int64_t K);

// gy_mode: 0 none, 1 a row per (t, b), 2 one value per (t, b). gstate_T may be null.
void scan_backward(int dtype, int device, void* stream, const void* x, int64_t sxt, int64_t sxb,
                   const void* params, const void* ckpt, const void* gy, int64_t sgt,
                   int64_t sgb, int gy_mode, const void* gstate_T, void* gx, void* partial,
                   void* gparams, void* gstate0, void* scratch, int64_t T, int64_t B, int64_t N,
                   int64_t K);

// Number of visible CUDA devices (0 when there is no driver or device), and the runtime's
// text for the last error, for the Python side's messages.
int device_count();

}  // namespace cuda
}  // namespace mtc
