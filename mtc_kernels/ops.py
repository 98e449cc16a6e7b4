"""The custom ops behind every fused backend, registered once with ``torch.library``.

``mtc::scan(x, params, state0, K, backend) -> (y, state_T, ckpt)`` runs a backend's forward
kernel; ``mtc::scan_backward(x, params, ckpt, gy, gstate_T, K, backend) -> (gx, gparams,
gstate0)`` runs its reverse sweep. Both have fake (meta) implementations, so
``torch.compile`` traces through them without graph breaks, and ``mtc::scan`` has its
autograd registered here, so every fused backend shares one autograd wiring. Saved for
backward: ``x``, ``params`` and the checkpoints ``ckpt`` (``4 * ceil(T/K) * B * N`` numbers).

:class:`MTCScanFunction` is the same computation as a ``torch.autograd.Function`` for
callers who want one directly.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor

from . import backends


def _fused(name: str):
    b = backends.get(name)
    if not isinstance(b, backends.FusedBackend):
        raise ValueError(f"mtc::scan: backend {name!r} has no fused kernels")
    return b


@torch.library.custom_op("mtc::scan", mutates_args=())
def _scan(x: Tensor, params: Tensor, state0: Tensor, K: int, backend: str) -> Tuple[Tensor, Tensor, Tensor]:
    return _fused(backend).forward(x, params, state0, K)


@_scan.register_fake
def _scan_fake(x, params, state0, K, backend):
    T, B, N = x.shape
    C = -(-T // K)
    return (x.new_empty((T, B, N)), state0.new_empty((4, B, N)), state0.new_empty((C, 4, B, N)))


@torch.library.custom_op("mtc::scan_backward", mutates_args=())
def _scan_backward(x: Tensor, params: Tensor, ckpt: Tensor, gy: Optional[Tensor], gstate_T: Optional[Tensor],
                   K: int, backend: str) -> Tuple[Tensor, Tensor, Tensor]:
    return _fused(backend).backward(x, params, ckpt, gy, gstate_T, K)


@_scan_backward.register_fake
def _scan_backward_fake(x, params, ckpt, gy, gstate_T, K, backend):
    T, B, N = x.shape
    return (x.new_empty((T, B, N)), params.new_empty(params.shape), params.new_empty((4, B, N)))


def _setup_context(ctx, inputs, output):
    x, params, state0, K, backend = inputs
    _, _, ckpt = output
    ctx.save_for_backward(x, params, ckpt)
    ctx.K, ctx.backend = K, backend
    ctx.mark_non_differentiable(ckpt)


def _backward(ctx, gy, gstate_T, _gckpt):
    x, params, ckpt = ctx.saved_tensors
    gx, gparams, gstate0 = torch.ops.mtc.scan_backward(x, params, ckpt, gy, gstate_T, ctx.K, ctx.backend)
    return gx, gparams, gstate0, None, None


_scan.register_autograd(_backward, setup_context=_setup_context)


def scan_op(x: Tensor, params: Tensor, state0: Tensor, K: int, backend: str) -> Tuple[Tensor, Tensor]:
    """Call ``mtc::scan`` and drop the checkpoints. Inputs already in the state dtype
    (``x`` may be a dtype the backend reads natively)."""
    y, state_T, _ = torch.ops.mtc.scan(x, params, state0, K, backend)
    return y, state_T


class MTCScanFunction(torch.autograd.Function):
    """``MTCScanFunction.apply(x, params, state0, K, backend) -> (y, state_T)``: the fused
    scan as a plain ``torch.autograd.Function`` (same kernels as the custom op). Inputs as
    for :func:`scan_op`; ``backend`` names a fused backend."""

    @staticmethod
    def forward(ctx, x, params, state0, K, backend):
        y, state_T, ckpt = _fused(backend).forward(x, params, state0, K)
        ctx.save_for_backward(x, params, ckpt)
        ctx.K, ctx.backend = K, backend
        return y, state_T

    @staticmethod
    def backward(ctx, gy, gstate_T):
        x, params, ckpt = ctx.saved_tensors
        gx, gparams, gstate0 = _fused(ctx.backend).backward(x, params, ckpt, gy, gstate_T, ctx.K)
        return gx, gparams, gstate0, None, None
