"""The ``"cuda"`` backend: the fused CUDA kernels of ``csrc/cuda`` (extension
``mtc_kernels._cuda``), on CUDA tensors.

Launches go to PyTorch's current stream of the input's device, on that device (the C++ side
sets and restores the current device), so the op is correct with several GPUs and can be
captured in CUDA graphs. Inputs float16/bfloat16/float32/float64 are read as they are; the
state is float32 (float64 for float64 inputs).
"""
from __future__ import annotations

import torch

from .base import FusedBackend, neurons_contiguous, output_grad

try:
    from .. import _cuda  # type: ignore[attr-defined]
    _IMPORT_ERROR = None
except ImportError as e:  # not built
    _cuda = None
    _IMPORT_ERROR = e

_BUILD = ("reinstall with the CUDA toolkit's nvcc on PATH (or CUDA_HOME set): "
          "`MTC_BUILD_CUDA=1 pip install -e .` (MTC_CUDA_ARCHS picks the GPUs, default 80;90)")


class CUDABackend(FusedBackend):
    name = "cuda"
    native_input_dtypes = (torch.float16, torch.bfloat16, torch.float32, torch.float64)

    def __init__(self, lib=None):
        #: The compiled module with ``forward``/``backward`` on raw pointers: ``mtc_kernels._cuda``,
        #: or (tests) the host-emulation build of the same kernels, which runs on CPU tensors.
        self._lib = _cuda if lib is None else lib

    def unavailable_reason(self, device):
        if device.type != "cuda":
            return "it runs on CUDA tensors only; use backend='cpu' (or 'auto') for CPU tensors"
        if self._lib is None:
            return f"the CUDA extension mtc_kernels._cuda is not built ({_IMPORT_ERROR}); {_BUILD}"
        if not torch.cuda.is_available() or self._lib.device_count() == 0:
            return "no CUDA device is visible"
        return None

    def _launch_on(self, device):
        """(device index, stream handle) for the kernels: PyTorch's current stream there."""
        return device.index, torch.cuda.current_stream(device).cuda_stream

    def _dtype_code(self, dt):
        lib = self._lib
        return {torch.float32: lib.F32, torch.float64: lib.F64, torch.float16: lib.F16, torch.bfloat16: lib.BF16}[dt]

    def _forward(self, x, params, state0, K):
        T, B, N = x.shape
        x = neurons_contiguous(x)
        params, state0 = params.contiguous(), state0.contiguous()
        dev = x.device
        y = torch.empty((T, B, N), dtype=x.dtype, device=dev)
        state_T = torch.empty((4, B, N), dtype=params.dtype, device=dev)
        ckpt = torch.empty((-(-T // K), 4, B, N), dtype=params.dtype, device=dev)
        self._lib.forward(self._dtype_code(x.dtype), *self._launch_on(dev), x.data_ptr(), x.stride(0),
                          x.stride(1), params.data_ptr(), state0.data_ptr(), y.data_ptr(), state_T.data_ptr(),
                          ckpt.data_ptr(), T, B, N, K)
        return y, state_T, ckpt

    def _backward(self, x, params, ckpt, gy, gstate_T, K):
        T, B, N = x.shape
        x = neurons_contiguous(x)
        params, ckpt = params.contiguous(), ckpt.contiguous()
        dev = x.device
        gy, mode = output_grad(gy, x.dtype)
        gptr, sgt, sgb = (0, 0, 0) if gy is None else (gy.data_ptr(), gy.stride(0), gy.stride(1))
        if gstate_T is not None:
            gstate_T = gstate_T.to(params.dtype).contiguous()
        gx = torch.empty((T, B, N), dtype=x.dtype, device=dev)
        partial = torch.empty((14, B, N), dtype=params.dtype, device=dev)
        gparams = torch.empty((14, N), dtype=params.dtype, device=dev)
        gstate0 = torch.empty((4, B, N), dtype=params.dtype, device=dev)
        scratch = torch.empty((min(K, T), 4, B, N), dtype=params.dtype, device=dev)
        self._lib.backward(self._dtype_code(x.dtype), *self._launch_on(dev), x.data_ptr(), x.stride(0),
                           x.stride(1), params.data_ptr(), ckpt.data_ptr(), gptr, sgt, sgb, mode,
                           0 if gstate_T is None else gstate_T.data_ptr(), gx.data_ptr(), partial.data_ptr(),
                           gparams.data_ptr(), gstate0.data_ptr(), scratch.data_ptr(), T, B, N, K)
        return gx, gparams, gstate0
