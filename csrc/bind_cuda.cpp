// pybind11 binding of the fused CUDA kernels: raw device pointers, sizes, strides, the device
// index and the CUDA stream handle, all as integers from Python (mtc_kernels/backends/
// cuda_backend.py). No torch and no CUDA headers: the module links only the CUDA runtime
// (statically), so it does not depend on the PyTorch C++ ABI.
#include <pybind11/pybind11.h>

#include <cstdint>

#include "cuda/mtc_cuda.h"

namespace py = pybind11;

namespace {

inline void* ptr(std::uintptr_t p) { return reinterpret_cast<void*>(p); }

void forward(int dtype, int device, std::uintptr_t stream, std::uintptr_t x, int64_t sxt, int64_t sxb,
             std::uintptr_t params, std::uintptr_t state0, std::uintptr_t y, std::uintptr_t state_T,
             std::uintptr_t ckpt, int64_t T, int64_t B, int64_t N, int64_t K) {
  py::gil_scoped_release nogil;
  mtc::cuda::scan_forward(dtype, device, ptr(stream), ptr(x), sxt, sxb, ptr(params), ptr(state0),
                          ptr(y), ptr(state_T), ptr(ckpt), T, B, N, K);
}

void backward(int dtype, int device, std::uintptr_t stream, std::uintptr_t x, int64_t sxt,
              int64_t sxb, std::uintptr_t params, std::uintptr_t ckpt, std::uintptr_t gy, int64_t sgt,
              int64_t sgb, int gy_mode, std::uintptr_t gstate_T, std::uintptr_t gx,
              std::uintptr_t partial, std::uintptr_t gparams, std::uintptr_t gstate0,
              std::uintptr_t scratch, int64_t T, int64_t B, int64_t N, int64_t K) {
  py::gil_scoped_release nogil;
  mtc::cuda::scan_backward(dtype, device, ptr(stream), ptr(x), sxt, sxb, ptr(params), ptr(ckpt),
                           ptr(gy), sgt, sgb, gy_mode, ptr(gstate_T), ptr(gx), ptr(partial),
                           ptr(gparams), ptr(gstate0), ptr(scratch), T, B, N, K);
}

}  // namespace

// The module's name: _cuda, or _cuda_emu for the host-emulation build of the same kernels
// (csrc/cuda/launch.h; built by cuda_build.build_host_emulation for the tests).
#ifndef MTC_CUDA_MODULE
#define MTC_CUDA_MODULE _cuda
#endif

PYBIND11_MODULE(MTC_CUDA_MODULE, m) {
  m.doc() = "mtc-kernels fused CUDA kernels (raw-pointer interface; use mtc_kernels.mtc_scan)";
  m.attr("F32") = int(mtc::cuda::F32);
  m.attr("F64") = int(mtc::cuda::F64);
  m.attr("F16") = int(mtc::cuda::F16);
  m.attr("BF16") = int(mtc::cuda::BF16);
  m.def("forward", &forward,
        "forward(dtype, device, stream, x, sxt, sxb, params, state0, y, state_T, ckpt, T, B, N, K)");
  m.def("backward", &backward,
        "backward(dtype, device, stream, x, sxt, sxb, params, ckpt, gy, sgt, sgb, gy_mode, gstate_T, "
        "gx, partial, gparams, gstate0, scratch, T, B, N, K); gy/gstate_T may be 0");
  m.def("device_count", &mtc::cuda::device_count, "visible CUDA devices (0 without a driver)");
}
