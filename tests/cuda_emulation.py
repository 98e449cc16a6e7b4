"""The CUDA kernels without a GPU: csrc/cuda compiled by the host compiler with the host
emulation (csrc/cuda/launch.h, host_emulation.h), behind the CUDA backend's own Python code
(its buffers, strides, gradient modes and dtype codes), registered as the fused backend
``"cuda-emu"`` on CPU tensors.

conftest.py registers it before it lists the fused backends, so every fused-backend test
(against python_ref, properties, awkward shapes, all input dtypes) also runs the CUDA
kernels' indexing, checkpoint/scratch layouts, gradient modes and batch reduction. What it
cannot check: the GPU's own arithmetic (tanhf, float16 conversions: the host versions run
here), concurrency between threads, and speed; bench/gpu_check.sh does those on a GPU.

Built once per source/flag change into build/cuda_emu/ (about 10 s). ``MTC_CUDA_EMU_FLAGS``
adds compiler flags (scripts/sanitize_check.sh builds it with the sanitizers);
``MTC_CUDA_EMU=0`` leaves it out (bench/gpu_check.sh, where the real kernels run).
"""
from __future__ import annotations

import importlib.util
import os
import shlex
import sys
from typing import Optional

import mtc_kernels as M
from mtc_kernels.backends.cuda_backend import CUDABackend

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
import cuda_build  # noqa: E402

NAME = "cuda-emu"


class EmulatedCUDABackend(CUDABackend):
    """The CUDA backend on CPU tensors, through the host-emulation module."""

    name = NAME

    def unavailable_reason(self, device):
        return None if device.type == "cpu" else "the host emulation of the CUDA kernels runs on CPU tensors"

    def _launch_on(self, device):
        return 0, 0  # the emulated device 0, the default stream


def extra_flags():
    return shlex.split(os.environ.get("MTC_CUDA_EMU_FLAGS", ""))


def build() -> str:
    """Path of the emulation module (built if needed; scripts/sanitize_check.sh builds the
    same path ahead)."""
    return cuda_build.build_host_emulation(ROOT, os.path.join(ROOT, "build", "cuda_emu"), extra_flags())


def register() -> Optional[str]:
    """Build, import and register ``"cuda-emu"``; None on success, else why not."""
    if os.environ.get("MTC_CUDA_EMU") == "0":
        return "turned off by MTC_CUDA_EMU=0"
    if cuda_build.cuda_include_dir() is None:
        return "no CUDA toolkit headers on this machine (the emulation compiles csrc/cuda with them)"
    try:
        path = build()
    except Exception as e:  # reported by tests/test_cuda_build.py, which fails on it
        return f"the host-emulation build failed: {e}"
    spec = importlib.util.spec_from_file_location(cuda_build.EMULATION_MODULE, path)
    lib = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lib)
    if NAME not in M.backends.names():
        M.backends.register(EmulatedCUDABackend(lib))
    return None
