"""The ``"cpu"`` backend: the fused C++ kernels of ``csrc/cpu`` (extension ``mtc_kernels._cpu``).

The kernels read float32/float64 with the neuron dimension contiguous (any T and B
strides); other layouts are copied once here. float16/bfloat16 inputs are cast to float32
before the op (see :class:`FusedBackend`). Threads: ``torch.get_num_threads()``.
"""
from __future__ import annotations

import torch

from .base import GY_BCAST, FusedBackend, neurons_contiguous, output_grad

try:
    from .. import _cpu  # type: ignore[attr-defined]
    _IMPORT_ERROR = None
except ImportError as e:  # not built
    _cpu = None
    _IMPORT_ERROR = e

_FN = {torch.float32: "f32", torch.float64: "f64"}


class CPUBackend(FusedBackend):
    name = "cpu"

    def unavailable_reason(self, device):
        if device.type != "cpu":
            return "it runs on CPU tensors only; use backend='triton' or 'cuda' (or 'auto') for CUDA tensors"
        if _cpu is None:
            return (f"the C++ extension mtc_kernels._cpu is not built ({_IMPORT_ERROR}); "
                    "reinstall with `pip install -e .` from the repository (needs a C++17 compiler)")
        return None

    def _forward(self, x, params, state0, K):
        T, B, N = x.shape
        x = neurons_contiguous(x)
        params, state0 = params.contiguous(), state0.contiguous()
        C = -(-T // K)
        y = torch.empty((T, B, N), dtype=x.dtype)
        state_T = torch.empty((4, B, N), dtype=x.dtype)
        ckpt = torch.empty((C, 4, B, N), dtype=x.dtype)
        getattr(_cpu, "forward_" + _FN[x.dtype])(
            x.data_ptr(), x.stride(0), x.stride(1), params.data_ptr(), state0.data_ptr(),
            y.data_ptr(), state_T.data_ptr(), ckpt.data_ptr(), T, B, N, K, torch.get_num_threads())
        return y, state_T, ckpt

    def _backward(self, x, params, ckpt, gy, gstate_T, K):
        T, B, N = x.shape
        x = neurons_contiguous(x)
        params = params.contiguous()
        gx = torch.empty((T, B, N), dtype=x.dtype)
        gparams = torch.zeros((14, N), dtype=x.dtype)
        gstate0 = torch.empty((4, B, N), dtype=x.dtype)
        if gstate_T is not None:
            gstate_T = gstate_T.to(x.dtype).contiguous()
        gy, gy_mode = output_grad(gy, x.dtype)
        getattr(_cpu, "backward_" + _FN[x.dtype])(
            x.data_ptr(), x.stride(0), x.stride(1), params.data_ptr(), ckpt.contiguous().data_ptr(),
            0 if gy is None else gy.data_ptr(), 0 if gy is None else gy.stride(0),
            0 if gy is None else gy.stride(1), 0 if gy_mode == GY_BCAST else 1,
            0 if gstate_T is None else gstate_T.data_ptr(),
            gx.data_ptr(), gparams.data_ptr(), gstate0.data_ptr(), T, B, N, K, torch.get_num_threads())
        return gx, gparams, gstate0
