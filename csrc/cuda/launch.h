// How csrc/cuda launches its kernels: `MTC_LAUNCH(kernel, grid, block, stream)(args...)`.
//
// Compiled by nvcc this is CUDA's `kernel<<<grid, block, 0, stream>>>(args...)`. Compiled by
// the host compiler with MTC_CUDA_HOST_EMULATION defined, the same kernels run on the CPU,
// block after block and thread after thread (host_emulation.h): the tests use that build to
// check the CUDA kernels' indexing, layouts and reductions against the reference on a
// machine without a GPU (tests/cuda_emulation.py).
#pragma once

#if defined(MTC_CUDA_HOST_EMULATION)
#if defined(__CUDACC__)
#error "MTC_CUDA_HOST_EMULATION is for the host compiler (g++ -x c++), not nvcc"
#endif
#include "host_emulation.h"
#define MTC_LAUNCH(kernel, grid, block, stream) ::mtc::emu::launcher((kernel), (grid), (block), (stream))
#else
#include <cuda_runtime.h>
#define MTC_LAUNCH(kernel, grid, block, stream) kernel<<<(grid), (block), 0, (stream)>>>
#endif
