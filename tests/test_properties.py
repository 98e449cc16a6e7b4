"""Property-based tests (hypothesis): for random shapes, layouts, parameters in range and
checkpoint intervals, every fused backend equals the reference in float64 (forward,
state_T and all three gradients); malformed inputs always raise the documented
TypeError/ValueError, for every backend, and never crash or return garbage."""
import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mtc_kernels as M
import python_ref as R

from conftest import FUSED_ON_CPU, TRITON_ON_CPU_REASON

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)


def _layout(t, layout):
    """The same values as ``t`` [T, B, N] in another memory layout."""
    if layout == "batch-major":
        return t.transpose(0, 1).contiguous().transpose(0, 1)
    if layout == "neuron-strided":  # stride 2 on the neuron axis: the backends copy it
        wide = torch.zeros(*t.shape[:2], 2 * t.shape[2], dtype=t.dtype)
        wide[..., ::2] = t
        return wide[..., ::2]
    if layout == "time-padded":
        big = torch.zeros(t.shape[0], t.shape[1] + 1, t.shape[2], dtype=t.dtype)
        big[:, 1:] = t
        return big[:, 1:]
    return t.clone()


@st.composite
def cases(draw):
    T = draw(st.integers(0, 12))
    B = draw(st.integers(1, 3))
    N = draw(st.integers(1, 9))
    K = draw(st.integers(1, 16))
    seed = draw(st.integers(0, 2 ** 31 - 1))
    layout = draw(st.sampled_from(["contiguous", "batch-major", "neuron-strided", "time-padded"]))
    beta_one = draw(st.booleans())  # some betas exactly 1 (the range's closed end)
    g = torch.Generator().manual_seed(seed)
    p = torch.empty(14, N, dtype=torch.float64)
    for i, name in enumerate(R.PARAM_NAMES):
        if name.startswith("a_"):
            p[i] = torch.rand(N, generator=g, dtype=torch.float64) * 6 - 3
        elif name.startswith("d_"):
            p[i] = torch.rand(N, generator=g, dtype=torch.float64) * 4 - 2
        elif name.startswith("beta_"):
            p[i] = torch.rand(N, generator=g, dtype=torch.float64).clamp_min(1e-3)
            if beta_one:
                p[i, 0] = 1.0
    p[R.PARAM_INDEX["v_th"]] = torch.rand(N, generator=g, dtype=torch.float64) * 3 - 2
    p[R.PARAM_INDEX["v_sat"]] = p[R.PARAM_INDEX["v_th"]] + 0.05 + 3 * torch.rand(N, generator=g, dtype=torch.float64)
    x = _layout(torch.randn(T, B, N, generator=g, dtype=torch.float64) * 1.5 - 1, layout)
    s0 = torch.randn(4, B, N, generator=g, dtype=torch.float64)
    gy = torch.randn(T, B, N, generator=g, dtype=torch.float64)
    gs = torch.randn(4, B, N, generator=g, dtype=torch.float64)
    params_t = draw(st.booleans())  # params as a transposed view
    if params_t:
        p = p.t().contiguous().t()
    return x, p, s0, gy, gs, K


def _run(backend, x, p, s0, gy, gs, K):
    x, p, s0 = (t.detach().requires_grad_() for t in (x, p, s0))  # keeps x's layout
    y, sT = M.mtc_scan(x, p, s0, backend=backend, checkpoint_every=K)
    grads = torch.autograd.grad((y * gy).sum() + (sT * gs).sum(), (x, p, s0), allow_unused=True)
    grads = [torch.zeros_like(t) if gr is None else gr for t, gr in zip((x, p, s0), grads)]
    return [y.detach(), sT.detach()] + grads


@pytest.mark.parametrize("backend", FUSED_ON_CPU)
@settings(max_examples=40, **SETTINGS)
@given(case=cases())
def test_fused_equals_reference(backend, case):
    if backend == "triton" and TRITON_ON_CPU_REASON is None and case[0].shape[0] > 8:
        case = (case[0][:8], case[1], case[2], case[3][:8], case[4], case[5])  # the interpreter is slow
    ref = _run("reference", *case)
    got = _run(backend, *case)
    for name, a, b in zip(("y", "state_T", "grad x", "grad params", "grad state0"), got, ref):
        scale = max(float(b.abs().max()) if b.numel() else 0.0, 1.0)
        err = float((a - b).abs().max()) if b.numel() else 0.0
        assert err <= 1e-10 * scale, f"{backend}: {name} differs by {err:.3e} (scale {scale:.3g})"


BACKENDS = ["reference"] + FUSED_ON_CPU

bad_beta = st.one_of(st.floats(max_value=0.0, allow_nan=False), st.floats(min_value=1.0, exclude_min=True,
                     allow_nan=False), st.just(math.nan))


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=30, **SETTINGS)
@given(which=st.sampled_from(R.BETA_NAMES), value=bad_beta, neuron=st.integers(0, 4))
def test_beta_out_of_range_always_raises(backend, which, value, neuron):
    p = M.preset_params("bursting", 5, dtype=torch.float64)
    p[R.PARAM_INDEX[which], neuron] = value
    with pytest.raises(ValueError, match=which):
        M.mtc_scan(torch.zeros(4, 2, 5, dtype=torch.float64), p, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=20, **SETTINGS)
@given(gap=st.one_of(st.floats(min_value=0.0, max_value=1e6, allow_nan=False), st.just(math.nan)))
def test_v_sat_not_above_v_th_always_raises(backend, gap):
    p = M.preset_params("tonic", 3, dtype=torch.float64)
    p[R.PARAM_INDEX["v_sat"], 1] = p[R.PARAM_INDEX["v_th"], 1] - gap
    with pytest.raises(ValueError, match="v_sat"):
        M.mtc_scan(torch.zeros(2, 1, 3, dtype=torch.float64), p, backend=backend)


MALFORMED = {
    "x rank 2": (lambda x, p, s: (x[0], p, s), ValueError, "'x'"),
    "x rank 4": (lambda x, p, s: (x[None], p, s), ValueError, "'x'"),
    "params N+1": (lambda x, p, s: (x, torch.cat([p, p[:, :1]], 1), s), ValueError, "'params'"),
    "params 13 rows": (lambda x, p, s: (x, p[:13], s), ValueError, "'params'"),
    "state0 B+1": (lambda x, p, s: (x, p, torch.cat([s, s[:, :1]], 1)), ValueError, "'state0'"),
    "state0 3 rows": (lambda x, p, s: (x, p, s[:3]), ValueError, "'state0'"),
    "x int": (lambda x, p, s: (x.long(), p, s), TypeError, "'x'"),
    "x bool": (lambda x, p, s: (x > 0, p, s), TypeError, "'x'"),
    "x complex": (lambda x, p, s: (x.to(torch.complex128), p, s), TypeError, "'x'"),
    "params int": (lambda x, p, s: (x, p.int(), s), TypeError, "'params'"),
    "x not a tensor": (lambda x, p, s: (x.tolist(), p, s), TypeError, "'x'"),
}


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=40, **SETTINGS)
@given(kind=st.sampled_from(sorted(MALFORMED)), T=st.integers(1, 5), B=st.integers(1, 3), N=st.integers(1, 4))
def test_malformed_inputs_always_raise(backend, kind, T, B, N):
    mutate, exc, pattern = MALFORMED[kind]
    x = torch.randn(T, B, N, dtype=torch.float64)
    p = M.preset_params("bursting", N, dtype=torch.float64)
    s0 = torch.zeros(4, B, N, dtype=torch.float64)
    args = mutate(x, p, s0)
    with pytest.raises(exc, match=pattern):
        M.mtc_scan(*args, backend=backend)
