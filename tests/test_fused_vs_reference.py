"""Every fused backend against python_ref: forward, state_T, and the gradients of x, params
and state0 (random gradients on both outputs). Tolerances: see conftest.py."""
import os

import pytest
import torch

import mtc_kernels as M
import python_ref as R
from conftest import TOL, assert_close, make_case, rel_err, run_with_grads

SHAPES = [  # (T, B, N, K): T=1, T not a multiple of K, K=1, K > T, B=1, odd N, tile tails
    (1, 1, 1, 4),
    (1, 2, 5, 1),
    (37, 3, 70, 5),
    (40, 2, 65, 8),
    (12, 1, 129, 1),
    (9, 2, 7, 100),
    (33, 4, 33, 32),
]


@pytest.mark.parametrize("T,B,N,K", SHAPES)
def test_float64_matches_reference(fused_backend, T, B, N, K):
    case = make_case(T, B, N, torch.float64, seed=T * 100 + N)
    ref = run_with_grads(R.mtc_scan_ref, *case)
    got = run_with_grads(lambda x, p, s: M.mtc_scan(x, p, s, backend=fused_backend, checkpoint_every=K), *case)
    for a, b, name in zip(got, ref, ["y", "state_T", "grad x", "grad params", "grad state0"]):
        assert a.dtype == b.dtype, name
        assert_close(a, b, TOL[torch.float64], name)


@pytest.mark.parametrize("T,B,N,K", [(24, 2, 70, 5), (40, 3, 17, 16)])
def test_float32_matches_reference(fused_backend, T, B, N, K):
    case = make_case(T, B, N, torch.float32, seed=7)
    ref = run_with_grads(R.mtc_scan_ref, *case)
    got = run_with_grads(lambda x, p, s: M.mtc_scan(x, p, s, backend=fused_backend, checkpoint_every=K), *case)
    for a, b, name in zip(got, ref, ["y", "state_T", "grad x", "grad params", "grad state0"]):
        assert_close(a, b, TOL[torch.float32], name)


@pytest.mark.parametrize("seed", range(4))
def test_float32_is_as_close_to_float64_as_the_float32_reference(fused_backend, seed):
    """In float32 the fused kernels are about as far from the float64 reference as the
    reference itself run in float32 (at most 2x, plus 1e-6): their tanh (the CPU's within
    2.6 ulp) costs no accuracy beyond the float32 sensitivity of the dynamics."""
    case = make_case(40, 3, 37, torch.float64, seed=seed)
    x, p, s0, gy, gs = case
    case32 = [t.detach().float().requires_grad_() for t in (x, p, s0)] + [gy.float(), gs.float()]
    truth = run_with_grads(R.mtc_scan_ref, *case)

    def dist(res):
        return max(rel_err(a, b) for a, b in zip(res, truth))

    ref32 = dist(run_with_grads(R.mtc_scan_ref, *case32))
    got32 = dist(run_with_grads(lambda x, p, s: M.mtc_scan(x, p, s, backend=fused_backend), *case32))
    assert got32 <= 2 * ref32 + 1e-6, f"fused float32 {got32:.2e} vs float32 reference {ref32:.2e} from float64"


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_inputs_match_reference_on_rounded_inputs(fused_backend, dtype):
    """Low-precision x is read as-is, state in float32; compared with the reference run
    on the same rounded inputs. y is rounded to x's dtype, so compare at its resolution."""
    x, p, s0, gy, gs = make_case(20, 2, 19, dtype, seed=3)
    ref = run_with_grads(R.mtc_scan_ref, x, p, s0, gy, gs)
    got = run_with_grads(lambda a, b, c: M.mtc_scan(a, b, c, backend=fused_backend, checkpoint_every=6), x, p, s0, gy, gs)
    assert got[0].dtype == dtype and got[1].dtype == torch.float32 and got[2].dtype == dtype
    eps = torch.finfo(dtype).eps
    assert_close(got[0], ref[0], 2 * eps, "y")
    assert_close(got[1], ref[1], TOL[torch.float32], "state_T")
    assert_close(got[2], ref[2], 2 * eps, "grad x")
    assert_close(got[3], ref[3], TOL[torch.float32], "grad params")
    assert_close(got[4], ref[4], TOL[torch.float32], "grad state0")


def test_noncontiguous_inputs(fused_backend):
    x, p, s0, gy, gs = make_case(15, 3, 22, torch.float64, seed=11, requires_grad=False)
    # x as a [B, T, N] buffer transposed to [T, B, N]; params as a transposed [N, 14]; state0 strided
    xt = x.transpose(0, 1).contiguous().transpose(0, 1).requires_grad_()
    pt = p.t().contiguous().t().requires_grad_()
    big = torch.zeros(4, 3, 44, dtype=torch.float64)
    big[:, :, ::2] = s0
    st = big[:, :, ::2].requires_grad_()
    assert not xt.is_contiguous() and not pt.is_contiguous() and not st.is_contiguous()
    ref = run_with_grads(R.mtc_scan_ref, xt, pt, st, gy, gs)
    got = run_with_grads(lambda a, b, c: M.mtc_scan(a, b, c, backend=fused_backend, checkpoint_every=4), xt, pt, st, gy, gs)
    for a, b, name in zip(got, ref, ["y", "state_T", "grad x", "grad params", "grad state0"]):
        assert_close(a, b, TOL[torch.float64], name)
    # neurons not contiguous either (x[..., ::2] of a wider tensor)
    wide = torch.zeros(15, 3, 44, dtype=torch.float64)
    wide[..., ::2] = x
    xs = wide[..., ::2]
    y1, s1 = M.mtc_scan(xs, p, s0, backend=fused_backend)
    y2, s2 = R.mtc_scan_ref(xs, p, s0)
    assert_close(y1, y2, TOL[torch.float64], "y (strided N)")


def test_result_does_not_depend_on_K(fused_backend):
    case = make_case(50, 2, 9, torch.float64, seed=5)
    outs = [run_with_grads(lambda x, p, s, k=k: M.mtc_scan(x, p, s, backend=fused_backend, checkpoint_every=k), *case)
            for k in (1, 3, 7, 50, 64)]
    for other in outs[1:]:
        for a, b in zip(other, outs[0]):
            assert_close(a, b, 1e-12, "K independence")


def _interpreted(backend):
    """Whether this backend runs through Triton's slow interpreter here (smaller cases)."""
    return backend == "triton" and os.environ.get("TRITON_INTERPRET") == "1"


def test_repeated_runs_are_bitwise_identical(fused_backend):
    shape = (20, 2, 45) if _interpreted(fused_backend) else (40, 4, 130)
    case = make_case(*shape, torch.float32, seed=9)
    f = lambda x, p, s: M.mtc_scan(x, p, s, backend=fused_backend, checkpoint_every=8)
    first = run_with_grads(f, *case)
    for _ in range(2):
        again = run_with_grads(f, *case)
        for a, b in zip(again, first):
            assert torch.equal(a, b)


def test_gradcheck(fused_backend):
    x, p, s0, _, _ = make_case(7, 2, 3, torch.float64, seed=2)
    with torch.no_grad():  # betas away from 1, so that gradcheck's perturbations stay valid
        p[R.PARAM_INDEX["beta_m"]] = 0.8
        p[R.PARAM_INDEX["beta_f"]] = 0.6
    f = lambda a, b, c: M.mtc_scan(a, b, c, backend=fused_backend, checkpoint_every=3)
    # Under the interpreter, gradcheck's fast mode (random projections of the Jacobian): the
    # full one costs ~200 slow interpreted runs; the elementwise checks above cover the rest.
    assert torch.autograd.gradcheck(f, (x, p, s0), fast_mode=_interpreted(fused_backend))


def test_gradient_on_one_output_only(fused_backend):
    """Autograd hands the op None for an output that got no gradient."""
    x, p, s0, gy, gs = make_case(11, 2, 5, torch.float64, seed=4)
    for pick in (lambda y, s: (y * gy).sum(), lambda y, s: (s * gs).sum()):
        ref = torch.autograd.grad(pick(*R.mtc_scan_ref(x, p, s0)), (x, p, s0))
        got = torch.autograd.grad(pick(*M.mtc_scan(x, p, s0, backend=fused_backend, checkpoint_every=4)), (x, p, s0))
        for a, b in zip(got, ref):
            assert_close(a, b, TOL[torch.float64], "single-output grad")


def test_broadcast_output_gradient(fused_backend):
    """y.sum() and y.sum(-1) hand the op a gradient with stride 0 over neurons (read without a copy)."""
    x, p, s0, gy, gs = make_case(13, 3, 9, torch.float64, seed=5)
    w = gy[:, :, 0]
    for pick in (lambda y, s: y.sum() + (s * gs).sum(), lambda y, s: (y.sum(-1) * w).sum()):
        ref = torch.autograd.grad(pick(*R.mtc_scan_ref(x, p, s0)), (x, p, s0))
        got = torch.autograd.grad(pick(*M.mtc_scan(x, p, s0, backend=fused_backend, checkpoint_every=4)), (x, p, s0))
        for a, b in zip(got, ref):
            assert_close(a, b, TOL[torch.float64], "broadcast-gy grad")


def test_T_zero(fused_backend):
    x, p, s0, _, gs = make_case(0, 2, 3, torch.float64)
    y, sT = M.mtc_scan(x, p, s0, backend=fused_backend)
    assert y.shape == (0, 2, 3) and torch.equal(sT, s0)
    (g,) = torch.autograd.grad((sT * gs).sum(), s0)
    assert torch.equal(g, gs)


@pytest.mark.parametrize("B,N", [(0, 3), (2, 0)])
def test_empty_batch_or_no_neurons(fused_backend, B, N):
    """Nothing to compute: shapes as the reference gives them, no kernel launched (a CUDA
    launch of zero blocks is an error)."""
    x, p, s0, gy, gs = make_case(5, B, N, torch.float64)
    got = run_with_grads(lambda a, b, c: M.mtc_scan(a, b, c, backend=fused_backend, checkpoint_every=2), x, p, s0, gy, gs)
    ref = run_with_grads(R.mtc_scan_ref, x, p, s0, gy, gs)
    for a, b in zip(got, ref):
        assert a.shape == b.shape and a.dtype == b.dtype and torch.equal(a, b)


def test_autograd_function_matches_custom_op(fused_backend):
    x, p, s0, gy, gs = make_case(13, 2, 6, torch.float64, seed=8)
    a = run_with_grads(lambda x, p, s: M.MTCScanFunction.apply(x, p, s, 4, fused_backend), x, p, s0, gy, gs)
    b = run_with_grads(lambda x, p, s: M.mtc_scan(x, p, s, backend=fused_backend, checkpoint_every=4), x, p, s0, gy, gs)
    for u, v in zip(a, b):
        assert torch.equal(u, v)


def test_saved_for_backward_is_checkpoints_only(fused_backend):
    """What the op saves beyond its inputs: 4 * ceil(T/K) * B * N numbers (the checkpoints)."""
    T, B, N, K = 100, 2, 8, 32
    x, p, s0, _, _ = make_case(T, B, N, torch.float32, seed=1)
    inputs = {x.data_ptr(), p.data_ptr(), s0.data_ptr()}
    saved = []

    def pack(t):
        saved.append(t)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        M.mtc_scan(x, p, s0, backend=fused_backend, checkpoint_every=K)
    extra = sum(t.numel() for t in saved if t.data_ptr() not in inputs)
    assert extra == 4 * -(-T // K) * B * N
