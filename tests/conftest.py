"""Shared fixtures: random MTC cases, the fused backends available here, tolerances.

Tolerances (relative to the largest magnitude of the compared tensor):

* float64: 1e-10. The fused kernels evaluate the same expressions in the same order as
  the reference (FMA contraction off), so differences are a few ulps, amplified mildly by
  the dynamics over the short windows used here.
* The Triton interpreter computes tanh as ``2*sigmoid(2x) - 1`` (it has no tanh), a few ulps
  off near 0 in float32 and ~1e-16 absolute in float64: within both tolerances.
* float32: 2e-4 on forward and gradients over windows of at most ~40 steps. The CPU kernel
  uses a vectorised tanh within 2.6 ulp of the exact one (torch uses its own, also ~1 ulp),
  and the fast element (``a_f = -2`` positive feedback) amplifies a one-ulp difference by up
  to ~2 per step near a spike upstroke, so longer windows of these excitable dynamics drift
  apart in float32 as any two correct float32 implementations do; float64 is the exactness
  test.
"""
from __future__ import annotations

import os

# With no GPU, run the Triton backend's kernels through Triton's interpreter on CPU tensors,
# so that every fused-backend test below also checks them. Triton reads this when the
# kernels are defined, so it must be set before mtc_kernels is imported.
try:
    import torch as _torch
    _HAS_CUDA = _torch.cuda.is_available()
except Exception:  # pragma: no cover
    _HAS_CUDA = False
if not _HAS_CUDA:
    os.environ.setdefault("TRITON_INTERPRET", "1")

import pytest
import torch

import mtc_kernels as M
import python_ref as R

import cuda_emulation

#: Why the CUDA kernels' host emulation ("cuda-emu") is not registered (None when it is).
CUDA_EMU_REASON = cuda_emulation.register()
FUSED_ON_CPU = [b for b in M.available_backends("cpu") if b != "reference"]
#: Why the Triton backend is not among them here (None when it is).
TRITON_ON_CPU_REASON = M.backends.get("triton").unavailable_reason(torch.device("cpu"))
TOL = {torch.float64: 1e-10, torch.float32: 2e-4}


def make_case(T, B, N, dtype=torch.float64, seed=0, jitter=0.15, preset="bursting", requires_grad=True):
    """Inputs around the excitable range, heterogeneous params, random state and random
    output gradients (on both y and state_T)."""
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn(T, B, N, generator=g, dtype=torch.float64) * 0.8 - 1.6).to(dtype)
    p = M.preset_params(preset, N, jitter=jitter, generator=g, dtype=torch.float64)
    p[R.PARAM_INDEX["v_th"]] = -1.0  # an activity window that the random trajectories cross
    p[R.PARAM_INDEX["v_sat"]] = 1.0
    sdt = R.state_dtype_for(dtype)
    p = p.to(sdt)
    s0 = (torch.randn(4, B, N, generator=g, dtype=torch.float64) * 0.5 - 1.5).to(sdt)
    gy = torch.randn(T, B, N, generator=g, dtype=torch.float64).to(dtype)
    gs = torch.randn(4, B, N, generator=g, dtype=torch.float64).to(sdt)
    if requires_grad:
        x.requires_grad_(); p.requires_grad_(); s0.requires_grad_()
    return x, p, s0, gy, gs


def run_with_grads(fn, x, p, s0, gy, gs):
    """Forward with ``fn(x, p, s0) -> (y, state_T)``, then the gradients of
    ``<y, gy> + <state_T, gs>`` wrt (x, p, s0). Returns (y, state_T, gx, gp, gs0)."""
    y, sT = fn(x, p, s0)
    loss = (y.to(torch.float64) * gy.to(torch.float64)).sum() + (sT.to(torch.float64) * gs.to(torch.float64)).sum()
    gx, gp, gs0 = torch.autograd.grad(loss, (x, p, s0))
    return y.detach(), sT.detach(), gx, gp, gs0


def rel_err(actual, expected) -> float:
    """Largest |actual - expected| relative to the largest |expected| (in float64)."""
    scale = expected.detach().abs().max().clamp_min(1e-30).to(torch.float64)
    return float((actual.detach().to(torch.float64) - expected.detach().to(torch.float64)).abs().max() / scale)


def assert_close(actual, expected, rtol, name=""):
    err = rel_err(actual, expected)
    assert err <= rtol, (f"{name}: max error {err:.3e} (relative to max |expected| = "
                         f"{float(expected.detach().abs().max()):.3e}) > {rtol:.1e}")


@pytest.fixture(params=FUSED_ON_CPU or [pytest.param(None, marks=pytest.mark.skip(reason="no fused CPU backend built"))])
def fused_backend(request):
    return request.param
