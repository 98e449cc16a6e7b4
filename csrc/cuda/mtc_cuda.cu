// The fused CUDA kernels: one thread per (batch, neuron), the time loop inside, calling the
// shared step and adjoint of csrc/mtc_step.h. Loads and stores are coalesced over neurons
// (consecutive threads, consecutive n); offsets are 64-bit.
//
// Backward walks the checkpoint chunks in reverse: each thread recomputes the (at most K)
// states of its chunk into a global scratch [K, 4, B*N] (per-thread, like local memory, but
// laid out so that a warp's accesses coalesce; small enough to stay in L2), then runs the
// adjoint backwards through it. Parameter gradients: per-thread partial sums over time,
// then a second kernel sums them over the batch in a fixed order (no atomics).
#include "mtc_cuda.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "../mtc_step.h"
#include "launch.h"  // MTC_LAUNCH: a CUDA launch under nvcc, a CPU loop in the host emulation

namespace mtc {
namespace cuda {
namespace {

template <typename S>
struct DeviceTanh {
  __host__ __device__ S operator()(S x) const { return ::tanh(x); }
};
template <>
struct DeviceTanh<float> {
  __host__ __device__ float operator()(float x) const { return ::tanhf(x); }
};

// Input <-> state conversions.
template <typename S, typename X> __device__ __forceinline__ S load_as(X v) { return static_cast<S>(v); }
template <> __device__ __forceinline__ float load_as<float, __half>(__half v) { return __half2float(v); }
template <> __device__ __forceinline__ float load_as<float, __nv_bfloat16>(__nv_bfloat16 v) { return __bfloat162float(v); }
template <typename X, typename S> __device__ __forceinline__ X store_as(S v) { return static_cast<X>(v); }
template <> __device__ __forceinline__ __half store_as<__half, float>(float v) { return __float2half_rn(v); }
template <> __device__ __forceinline__ __nv_bfloat16 store_as<__nv_bfloat16, float>(float v) { return __float2bfloat16_rn(v); }

template <typename S>
__device__ __forceinline__ State<S> load_state(const S* p, int64_t BN, int64_t o) {
  return State<S>{p[o], p[BN + o], p[2 * BN + o], p[3 * BN + o]};
}
template <typename S>
__device__ __forceinline__ void store_state(S* p, int64_t BN, int64_t o, const State<S>& s) {
  p[o] = s.v; p[BN + o] = s.f; p[2 * BN + o] = s.s; p[3 * BN + o] = s.u;
}

// Steps t0 .. t1-1 of one neuron from `st` (advanced in place), calling
// `after_step(t, state before step t, y[t])` after each. kUnroll steps at a time: their x
// loads are issued together (they do not depend on the state), so each thread has kUnroll
// loads in flight instead of one, and the loop and address arithmetic is shared by kUnroll
// steps. (One load in flight per thread cannot cover HBM latency at an H100/H200's
// bandwidth: that needs ~20 KB in flight per SM, 2048 threads x 4 bytes is 8 KB.)
constexpr int kUnroll = 4;

template <typename X, typename S, typename AfterStep>
__device__ __forceinline__ void run_steps(const Params<S>& p, State<S>& st, const X* xr, int64_t sxt,
                                          int64_t t0, int64_t t1, AfterStep after_step) {
  const DeviceTanh<S> th{};
  int64_t t = t0;
  for (; t + kUnroll <= t1; t += kUnroll) {
    S xv[kUnroll];
#pragma unroll
    for (int k = 0; k < kUnroll; ++k) xv[k] = load_as<S>(xr[(t + k) * sxt]);
#pragma unroll
    for (int k = 0; k < kUnroll; ++k) {
      const State<S> before = st;
      const S yv = step_forward(p, st, xv[k], th);
      after_step(t + k, before, yv);
    }
  }
  for (; t < t1; ++t) {
    const State<S> before = st;
    const S yv = step_forward(p, st, load_as<S>(xr[t * sxt]), th);
    after_step(t, before, yv);
  }
}

template <typename X, typename S>
__global__ void forward_kernel(const X* __restrict__ x, int64_t sxt, int64_t sxb,
                               const S* __restrict__ params, const S* __restrict__ state0,
                               X* __restrict__ y, S* __restrict__ state_T, S* __restrict__ ckpt,
                               int64_t T, int64_t B, int64_t N, int64_t K) {
  const int64_t BN = B * N;
  const int64_t o = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (o >= BN) return;
  const int64_t b = o / N, n = o % N;
  const Params<S> p = load_params(params, N, n);
  State<S> st = load_state(state0, BN, o);
  const X* xr = x + b * sxb + n;
  for (int64_t t0 = 0, c = 0; t0 < T; t0 += K, ++c) {
    store_state(ckpt + c * NUM_STATE * BN, BN, o, st);
    const int64_t t1 = t0 + K < T ? t0 + K : T;
    run_steps<X, S>(p, st, xr, sxt, t0, t1,
                    [&](int64_t t, const State<S>&, S yv) { y[t * BN + o] = store_as<X>(yv); });
  }
  store_state(state_T, BN, o, st);
}

template <typename X, typename S, int GY>
__global__ void backward_kernel(const X* __restrict__ x, int64_t sxt, int64_t sxb,
                                const S* __restrict__ params, const S* __restrict__ ckpt,
                                const X* __restrict__ gy, int64_t sgt, int64_t sgb,
                                const S* __restrict__ gstate_T, X* __restrict__ gx,
                                S* __restrict__ partial, S* __restrict__ gstate0,
                                S* __restrict__ scratch, int64_t T, int64_t B, int64_t N,
                                int64_t K) {
  const int64_t BN = B * N;
  const int64_t o = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (o >= BN) return;
  const int64_t b = o / N, n = o % N;
  const Params<S> p = load_params(params, N, n);
  const X* xr = x + b * sxb + n;
  const X* gyr = GY == 0 ? nullptr : gy + b * sgb + (GY == 1 ? n : 0);
  const DeviceTanh<S> th{};
  State<S> g = gstate_T ? load_state(gstate_T, BN, o) : State<S>{S(0), S(0), S(0), S(0)};
  ParamGrads<S> acc{};
  const int64_t C = (T + K - 1) / K;
  for (int64_t c = C - 1; c >= 0; --c) {
    const int64_t t0 = c * K, t1 = t0 + K < T ? t0 + K : T;
    // Recompute the states before steps t0 .. t1-1 into the scratch (y is not needed).
    State<S> st = load_state(ckpt + c * NUM_STATE * BN, BN, o);
    run_steps<X, S>(p, st, xr, sxt, t0, t1, [&](int64_t t, const State<S>& before, S) {
      store_state(scratch + (t - t0) * NUM_STATE * BN, BN, o, before);
    });
    for (int64_t t = t1 - 1; t >= t0; --t) {
      const State<S> s = load_state(scratch + (t - t0) * NUM_STATE * BN, BN, o);
      const S gyv = GY == 0 ? S(0) : load_as<S>(gyr[t * sgt]);
      gx[t * BN + o] = store_as<X>(step_adjoint(p, s, load_as<S>(xr[t * sxt]), gyv, g, acc, th));
    }
  }
  store_state(gstate0, BN, o, g);
  const S* a = &acc.a_f;  // ParamGrads: 14 consecutive S in ParamRow order
  for (int r = 0; r < NUM_PARAMS; ++r) partial[r * BN + o] = a[r];
}

// gparams[r, n] = sum over b = 0, 1, ... of partial[r, b, n], in that order.
template <typename S>
__global__ void reduce_batch_kernel(const S* __restrict__ partial, S* __restrict__ gparams,
                                    int64_t B, int64_t N) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;  // r * N + n
  if (i >= NUM_PARAMS * N) return;
  const int64_t r = i / N, n = i % N;
  S sum = S(0);
  for (int64_t b = 0; b < B; ++b) sum += partial[(r * B + b) * N + n];
  gparams[i] = sum;
}

constexpr int kThreads = 128;

unsigned blocks_for(int64_t n) { return static_cast<unsigned>((n + kThreads - 1) / kThreads); }

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string("mtc CUDA ") + what + ": " + cudaGetErrorString(e));
}

// Runs on `device` and restores the caller's current device afterwards.
struct DeviceGuard {
  int prev = -1;
  explicit DeviceGuard(int device) {
    check(cudaGetDevice(&prev), "cudaGetDevice");
    if (prev != device) check(cudaSetDevice(device), "cudaSetDevice");
  }
  ~DeviceGuard() { if (prev >= 0) cudaSetDevice(prev); }
};

template <typename X, typename S>
void forward_t(cudaStream_t st, const void* x, int64_t sxt, int64_t sxb, const void* params,
               const void* state0, void* y, void* state_T, void* ckpt, int64_t T, int64_t B,
               int64_t N, int64_t K) {
  MTC_LAUNCH((forward_kernel<X, S>), blocks_for(B * N), kThreads, st)(
      static_cast<const X*>(x), sxt, sxb, static_cast<const S*>(params), static_cast<const S*>(state0),
      static_cast<X*>(y), static_cast<S*>(state_T), static_cast<S*>(ckpt), T, B, N, K);
  check(cudaGetLastError(), "forward launch");
}

template <typename X, typename S>
void backward_t(cudaStream_t st, const void* x, int64_t sxt, int64_t sxb, const void* params,
                const void* ckpt, const void* gy, int64_t sgt, int64_t sgb, int gy_mode,
                const void* gstate_T, void* gx, void* partial, void* gparams, void* gstate0,
                void* scratch, int64_t T, int64_t B, int64_t N, int64_t K) {
  auto launch = [&](auto kernel) {
    MTC_LAUNCH(kernel, blocks_for(B * N), kThreads, st)(
        static_cast<const X*>(x), sxt, sxb, static_cast<const S*>(params), static_cast<const S*>(ckpt),
        static_cast<const X*>(gy), sgt, sgb, static_cast<const S*>(gstate_T), static_cast<X*>(gx),
        static_cast<S*>(partial), static_cast<S*>(gstate0), static_cast<S*>(scratch), T, B, N, K);
  };
  if (gy_mode == 0) launch(backward_kernel<X, S, 0>);
  else if (gy_mode == 1) launch(backward_kernel<X, S, 1>);
  else launch(backward_kernel<X, S, 2>);
  check(cudaGetLastError(), "backward launch");
  MTC_LAUNCH(reduce_batch_kernel<S>, blocks_for(NUM_PARAMS * N), kThreads, st)(
      static_cast<const S*>(partial), static_cast<S*>(gparams), B, N);
  check(cudaGetLastError(), "batch-reduction launch");
}

}  // namespace

void scan_forward(int dtype, int device, void* stream, const void* x, int64_t sxt, int64_t sxb,
                  const void* params, const void* state0, void* y, void* state_T, void* ckpt,
                  int64_t T, int64_t B, int64_t N, int64_t K) {
  DeviceGuard guard(device);
  cudaStream_t st = static_cast<cudaStream_t>(stream);
  switch (dtype) {
    case F32: return forward_t<float, float>(st, x, sxt, sxb, params, state0, y, state_T, ckpt, T, B, N, K);
    case F64: return forward_t<double, double>(st, x, sxt, sxb, params, state0, y, state_T, ckpt, T, B, N, K);
    case F16: return forward_t<__half, float>(st, x, sxt, sxb, params, state0, y, state_T, ckpt, T, B, N, K);
    case BF16: return forward_t<__nv_bfloat16, float>(st, x, sxt, sxb, params, state0, y, state_T, ckpt, T, B, N, K);
    default: throw std::invalid_argument("mtc CUDA forward: unknown input dtype code " + std::to_string(dtype));
  }
}

void scan_backward(int dtype, int device, void* stream, const void* x, int64_t sxt, int64_t sxb,
                   const void* params, const void* ckpt, const void* gy, int64_t sgt,
                   int64_t sgb, int gy_mode, const void* gstate_T, void* gx, void* partial,
                   void* gparams, void* gstate0, void* scratch, int64_t T, int64_t B, int64_t N,
                   int64_t K) {
  DeviceGuard guard(device);
  cudaStream_t st = static_cast<cudaStream_t>(stream);
#define MTC_BWD(X, S) backward_t<X, S>(st, x, sxt, sxb, params, ckpt, gy, sgt, sgb, gy_mode, gstate_T, \
                                       gx, partial, gparams, gstate0, scratch, T, B, N, K)
  switch (dtype) {
    case F32: return MTC_BWD(float, float);
    case F64: return MTC_BWD(double, double);
    case F16: return MTC_BWD(__half, float);
    case BF16: return MTC_BWD(__nv_bfloat16, float);
    default: throw std::invalid_argument("mtc CUDA backward: unknown input dtype code " + std::to_string(dtype));
  }
#undef MTC_BWD
}

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    (void)cudaGetLastError();  // clear the sticky "no driver" error
    return 0;
  }
  return n;
}

}  // namespace cuda
}  // namespace mtc
