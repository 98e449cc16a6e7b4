"""Launching the Triton kernels: shapes, dtypes, autotuning, the batch reduction.

Under ``TRITON_INTERPRET=1`` (read when this module is imported, as Triton does) the kernels
run on CPU tensors through Triton's interpreter, with a single configuration; on a GPU the
block size and warp count are autotuned per ``(B*N, K)`` (and gradient mode): the first
call at a new size benchmarks the configurations, so warm up before capturing a CUDA graph
(or set ``MTC_TRITON_AUTOTUNE=0`` for one fixed configuration).
"""
from __future__ import annotations

import contextlib
import os

import torch
import triton

from ..backends.base import neurons_contiguous, output_grad
from .scan import mtc_backward_kernel, mtc_forward_kernel

INTERPRET = os.environ.get("TRITON_INTERPRET", "0") == "1"


#: ``MTC_TRITON_AUTOTUNE=0``: one configuration instead of autotuning (each configuration is a
#: separate compilation; bench/gpu_check.sh runs the correctness tests this way).
AUTOTUNE = os.environ.get("MTC_TRITON_AUTOTUNE", "1") != "0"


def _configs():
    if INTERPRET:  # the interpreter runs one program at a time and cannot autotune
        return [triton.Config({"BLOCK": 32}, num_warps=1)]
    if not AUTOTUNE:
        return [triton.Config({"BLOCK": 128}, num_warps=4)]
    # One thread per neuron or a few: the time loop is serial, so parallelism is B*N.
    return [triton.Config({"BLOCK": b}, num_warps=w)
            for b, w in ((64, 2), (128, 4), (256, 4), (256, 8), (512, 4), (512, 8))]


_fwd = triton.autotune(_configs(), key=["BN", "K"])(mtc_forward_kernel)
_bwd = triton.autotune(_configs(), key=["BN", "K", "GY", "HAS_GST"])(mtc_backward_kernel)
_OPTS = {} if INTERPRET else {"enable_fp_fusion": True}  # FMA contraction: faster and no less exact


def _grid(BN):
    return lambda meta: (triton.cdiv(BN, meta["BLOCK"]),)


def forward(x, params, state0, K):
    """``x`` ``[T>=1, B, N]`` (float16/bfloat16/float32/float64), ``params`` ``[14, N]`` and
    ``state0`` ``[4, B, N]`` in the state dtype. -> ``(y in x.dtype, state_T, ckpt)``."""
    T, B, N = x.shape
    BN, C = B * N, -(-T // K)
    x = neurons_contiguous(x)
    params, state0 = params.contiguous(), state0.contiguous()
    y = torch.empty((T, B, N), dtype=x.dtype, device=x.device)
    state_T = torch.empty((4, B, N), dtype=params.dtype, device=x.device)
    ckpt = torch.empty((C, 4, B, N), dtype=params.dtype, device=x.device)
    with _on_device(x.device):
        _fwd[_grid(BN)](x, x.stride(0), x.stride(1), params, state0, y, state_T, ckpt,
                        T, C, K, N, BN, INTERPRET=INTERPRET, **_OPTS)
    return y, state_T, ckpt


def backward(x, params, ckpt, gy, gstate_T, K):
    """-> ``(gx in x.dtype, gparams [14, N], gstate0 [4, B, N])``; ``gy``/``gstate_T`` may be None."""
    T, B, N = x.shape
    BN, C = B * N, -(-T // K)
    x = neurons_contiguous(x)
    params, ckpt = params.contiguous(), ckpt.contiguous()
    gy, mode = output_grad(gy, x.dtype)
    gy_arg, sgt, sgb = (x, 0, 0) if gy is None else (gy, gy.stride(0), gy.stride(1))  # x: unused pointer
    gst = x if gstate_T is None else gstate_T.to(params.dtype).contiguous()
    dev = x.device
    gx = torch.empty((T, B, N), dtype=x.dtype, device=dev)
    partial = torch.empty((14, B, N), dtype=params.dtype, device=dev)
    gstate0 = torch.empty((4, B, N), dtype=params.dtype, device=dev)
    scratch = torch.empty((min(K, T), 4, B, N), dtype=params.dtype, device=dev)
    with _on_device(dev):
        _bwd[_grid(BN)](x, x.stride(0), x.stride(1), params, ckpt, gy_arg, sgt, sgb, gst,
                        gx, partial, gstate0, scratch, T, C, K, N, BN,
                        GY=mode, HAS_GST=gstate_T is not None, INTERPRET=INTERPRET, **_OPTS)
    # Sum over the batch: a fixed-order reduction (deterministic, no atomics).
    return gx, partial.sum(1), gstate0


def _on_device(device):
    """Launch on the inputs' GPU (Triton uses torch's current stream of the current device)."""
    return torch.cuda.device(device) if device.type == "cuda" else contextlib.nullcontext()
