// pybind11 binding of the CPU kernels on raw pointers (no torch headers: no PyTorch ABI
// coupling). Python passes tensor.data_ptr() values, sizes and element strides; it owns
// every buffer and guarantees the layouts documented in cpu/mtc_cpu.h.
#include <pybind11/pybind11.h>

#include <cstdint>

#include "cpu/mtc_cpu.h"

namespace py = pybind11;

namespace {

template <typename S>
const S* cptr(std::uintptr_t p) { return reinterpret_cast<const S*>(p); }
template <typename S>
S* mptr(std::uintptr_t p) { return reinterpret_cast<S*>(p); }

template <typename S>
void forward(std::uintptr_t x, int64_t sxt, int64_t sxb, std::uintptr_t params,
             std::uintptr_t state0, std::uintptr_t y, std::uintptr_t state_T,
             std::uintptr_t ckpt, int64_t T, int64_t B, int64_t N, int64_t K, int threads) {
  py::gil_scoped_release nogil;
  mtc::cpu::scan_forward<S>(cptr<S>(x), sxt, sxb, cptr<S>(params), cptr<S>(state0), mptr<S>(y),
                            mptr<S>(state_T), mptr<S>(ckpt), T, B, N, K, threads);
}

template <typename S>
void backward(std::uintptr_t x, int64_t sxt, int64_t sxb, std::uintptr_t params,
              std::uintptr_t ckpt, std::uintptr_t gy, int64_t sgt, int64_t sgb, int64_t sgn,
              std::uintptr_t gstate_T, std::uintptr_t gx, std::uintptr_t gparams,
              std::uintptr_t gstate0, int64_t T, int64_t B, int64_t N, int64_t K, int threads) {
  py::gil_scoped_release nogil;
  mtc::cpu::scan_backward<S>(cptr<S>(x), sxt, sxb, cptr<S>(params), cptr<S>(ckpt), cptr<S>(gy),
                             sgt, sgb, sgn, cptr<S>(gstate_T), mptr<S>(gx), mptr<S>(gparams),
                             mptr<S>(gstate0), T, B, N, K, threads);
}

}  // namespace

PYBIND11_MODULE(_cpu, m) {
  m.doc() = "mtc-kernels fused CPU kernels (raw-pointer interface; use mtc_kernels.mtc_scan)";
  const char* fdoc = "forward(x, sxt, sxb, params, state0, y, state_T, ckpt, T, B, N, K, threads)";
  const char* bdoc =
      "backward(x, sxt, sxb, params, ckpt, gy, sgt, sgb, sgn, gstate_T, gx, gparams, gstate0, T, B, "
      "N, K, threads); gy and gstate_T may be 0 (no gradient); sgn is 1 or 0 (broadcast)";
  m.def("forward_f32", &forward<float>, fdoc);
  m.def("forward_f64", &forward<double>, fdoc);
  m.def("backward_f32", &backward<float>, bdoc);
  m.def("backward_f64", &backward<double>, bdoc);
  m.def("has_openmp", &mtc::cpu::has_openmp, "whether the extension was built with OpenMP");
}
