// Running the CUDA kernels of mtc_cuda.cu on the CPU, for tests without a GPU (see launch.h).
//
// What it emulates: the built-in indices (threadIdx, blockIdx, blockDim, gridDim), a launch
// (each thread of each block runs the kernel to completion, in order; launch configurations
// CUDA would refuse set the sticky error that cudaGetLastError reports), and the handful of
// runtime calls the kernels' host code makes (host_emulation.cpp). Device memory is host
// memory. The kernels here use no shared memory, barriers or warp intrinsics, so running
// threads one after another is a faithful schedule for them; a kernel that needs threads to
// run concurrently cannot be emulated this way (and the emulation cannot find data races).
// The CUDA headers are used for the types and for float16/bfloat16 (their host code paths).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

extern uint3 threadIdx, blockIdx;
extern dim3 blockDim, gridDim;

namespace mtc {
namespace emu {

// Records a launch error for cudaGetLastError (the first one since the last call wins).
void set_error(cudaError_t e);

inline bool valid_config(dim3 g, dim3 b) {
  const uint64_t threads = uint64_t(b.x) * b.y * b.z;
  return g.x >= 1 && g.x <= 0x7fffffffu && g.y >= 1 && g.y <= 65535 && g.z >= 1 && g.z <= 65535 &&
         threads >= 1 && threads <= 1024 && b.z <= 64;
}

template <typename... P>
struct Launch {
  void (*kernel)(P...);
  dim3 grid, block;

  template <typename... A>
  void operator()(A&&... args) const {
    if (!valid_config(grid, block)) return set_error(cudaErrorInvalidConfiguration);
    gridDim = grid;
    blockDim = block;
    for (unsigned bz = 0; bz < grid.z; ++bz)
      for (unsigned by = 0; by < grid.y; ++by)
        for (unsigned bx = 0; bx < grid.x; ++bx) {
          blockIdx = uint3{bx, by, bz};
          for (unsigned tz = 0; tz < block.z; ++tz)
            for (unsigned ty = 0; ty < block.y; ++ty)
              for (unsigned tx = 0; tx < block.x; ++tx) {
                threadIdx = uint3{tx, ty, tz};
                kernel(static_cast<P>(args)...);
              }
        }
  }
};

template <typename... P>
Launch<P...> launcher(void (*kernel)(P...), dim3 grid, dim3 block, cudaStream_t) {
  return Launch<P...>{kernel, grid, block};
}

}  // namespace emu
}  // namespace mtc
