// The host emulation's state and its stand-ins for the CUDA runtime calls that mtc_cuda.cu's
// host code makes (declared by <cuda_runtime_api.h>; this build does not link the runtime).
// One emulated device, index 0.
#include "host_emulation.h"

uint3 threadIdx, blockIdx;
dim3 blockDim, gridDim;

namespace {
cudaError_t g_last_error = cudaSuccess;
int g_device = 0;
}  // namespace

void mtc::emu::set_error(cudaError_t e) {
  if (g_last_error == cudaSuccess) g_last_error = e;
}

extern "C" {

cudaError_t cudaGetLastError(void) {
  const cudaError_t e = g_last_error;
  g_last_error = cudaSuccess;
  return e;
}

const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    default: return "unknown error (host emulation)";
  }
}

cudaError_t cudaGetDeviceCount(int* count) {
  *count = 1;
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int* device) {
  *device = g_device;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
  if (device != 0) return cudaErrorInvalidDevice;
  g_device = device;
  return cudaSuccess;
}

}  // extern "C"
