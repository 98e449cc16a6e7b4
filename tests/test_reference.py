"""The reference itself: MODEL.md to the letter, gradcheck, windows, baselines."""
import math

import pytest
import torch

import python_ref as R
from python_ref.surrogate import arctan, fast_sigmoid


def test_param_names_order():
    assert R.PARAM_NAMES == ("a_f", "d_f", "a_sp", "d_sp", "a_sn", "d_sn", "a_us", "d_us",
                             "beta_m", "beta_f", "beta_s", "beta_us", "v_th", "v_sat")
    p = R.make_params(3, a_f=-1.0, beta_s=[0.1, 0.2, 0.3])
    assert p.shape == (14, 3)
    assert p[R.PARAM_INDEX["a_f"]].tolist() == [-1.0] * 3
    assert torch.allclose(p[R.PARAM_INDEX["beta_s"]], torch.tensor([0.1, 0.2, 0.3]))
    assert p[R.PARAM_INDEX["a_sp"]].tolist() == [2.0] * 3  # default: Ribar bursting point
    with pytest.raises(ValueError, match="unknown parameter"):
        R.make_params(3, a_q=1.0)
    with pytest.raises(ValueError, match="shape"):
        R.make_params(3, a_f=[1.0, 2.0])


def test_two_steps_by_hand():
    """Two steps of MODEL.md's update computed with Python floats (math.tanh)."""
    vals = dict(a_f=-2.0, d_f=0.1, a_sp=2.0, d_sp=-0.2, a_sn=-1.5, d_sn=-1.5, a_us=1.5, d_us=-1.5,
                beta_m=0.9, beta_f=0.7, beta_s=0.05, beta_us=0.01, v_th=0.0, v_sat=0.6)
    x_seq = [0.3, -1.2]
    v, f, s, u = -1.0, -0.8, -1.2, -1.4
    ys = []
    for x in x_seq:
        i_ion = (vals["a_f"] * math.tanh(f - vals["d_f"]) + vals["a_sp"] * math.tanh(s - vals["d_sp"])
                 + vals["a_sn"] * math.tanh(s - vals["d_sn"]) + vals["a_us"] * math.tanh(u - vals["d_us"]))
        v = v + vals["beta_m"] * (x - v - i_ion)
        f = f + vals["beta_f"] * (v - f)
        s = s + vals["beta_s"] * (v - s)
        u = u + vals["beta_us"] * (v - u)
        ys.append(min(max((v - vals["v_th"]) / (vals["v_sat"] - vals["v_th"]), 0.0), 1.0))
    p = R.make_params(1, vals, dtype=torch.float64)
    x = torch.tensor(x_seq, dtype=torch.float64).view(2, 1, 1)
    s0 = torch.tensor([-1.0, -0.8, -1.2, -1.4], dtype=torch.float64).view(4, 1, 1)
    y, sT = R.mtc_scan_ref(x, p, s0)
    assert abs(y[0, 0, 0].item() - ys[0]) < 1e-12 and abs(y[1, 0, 0].item() - ys[1]) < 1e-12
    for got, want in zip(sT[:, 0, 0].tolist(), [v, f, s, u]):
        assert abs(got - want) < 1e-12
    assert 0.0 < ys[0] < 1.0 and ys[1] == 1.0  # step 1 in the linear part, step 2 saturated


def _case(T=6, B=2, N=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn(T, B, N, generator=g, dtype=torch.float64) - 1.5).requires_grad_()
    p = R.make_params(N, dtype=torch.float64, beta_m=0.8, beta_f=0.6, beta_s=0.2, beta_us=0.05,
                      v_th=-1.5, v_sat=0.5)
    p = (p + 0.05 * torch.randn(14, N, generator=g, dtype=torch.float64)).requires_grad_()
    s0 = (torch.randn(4, B, N, generator=g, dtype=torch.float64) - 1.0).requires_grad_()
    return x, p, s0


def test_gradcheck_mtc():
    x, p, s0 = _case()
    assert torch.autograd.gradcheck(lambda a, b, c: R.mtc_scan_ref(a, b, c), (x, p, s0))


def test_zero_and_one_step():
    x, p, s0 = _case(T=0)
    y, sT = R.mtc_scan_ref(x, p, s0)
    assert y.shape == (0, 2, 3) and torch.equal(sT, s0)
    x1, p1, s01 = _case(T=1)
    y1, sT1 = R.mtc_scan_ref(x1, p1, s01)
    y_step, st = R.mtc_step_ref(x1[0], tuple(s01.unbind(0)), p1)
    assert torch.equal(y1[0], y_step) and torch.equal(sT1, torch.stack(st))


def test_state_none_is_zeros_and_dtypes():
    x, p, _ = _case()
    y0, s0_ = R.mtc_scan_ref(x, p, None)
    y1, s1_ = R.mtc_scan_ref(x, p, torch.zeros(4, 2, 3, dtype=torch.float64))
    assert torch.equal(y0, y1) and torch.equal(s0_, s1_)
    yb, sb = R.mtc_scan_ref(x.detach().bfloat16(), p.detach().float(), None)
    assert yb.dtype == torch.bfloat16 and sb.dtype == torch.float32


def test_windows_chain_like_one_long_window():
    x, p, s0 = _case(T=10)
    gy = torch.randn(10, 2, 3, dtype=torch.float64)
    gs = torch.randn(4, 2, 3, dtype=torch.float64)
    y, sT = R.mtc_scan_ref(x, p, s0)
    g_full = torch.autograd.grad((y * gy).sum() + (sT * gs).sum(), (x, p, s0))
    ya, sa = R.mtc_scan_ref(x[:4], p, s0)
    yb, sb = R.mtc_scan_ref(x[4:], p, sa)
    y2 = torch.cat([ya, yb])
    g_win = torch.autograd.grad((y2 * gy).sum() + (sb * gs).sum(), (x, p, s0))
    assert torch.allclose(y, y2, rtol=0, atol=0) and torch.equal(sT, sb)
    for a, b in zip(g_full, g_win):
        assert torch.allclose(a, b, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("sur", [fast_sigmoid(5.0), arctan(2.0)], ids=lambda s: s.name)
def test_surrogate_backward_is_primitive_derivative(sur):
    x = torch.linspace(-2, 2, 41, dtype=torch.float64).requires_grad_()
    (g_sur,) = torch.autograd.grad(sur.spike(x).sum(), x)
    (g_prim,) = torch.autograd.grad(sur.primitive(x).sum(), x)
    assert torch.allclose(g_sur, g_prim, rtol=1e-12, atol=1e-14)
    assert torch.equal(sur.spike(x.detach()), (x.detach() >= 0).double())


def _lif_case(seed=1):
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn(8, 2, 3, generator=g, dtype=torch.float64) + 1.0).requires_grad_()
    alpha = torch.tensor([0.8, 0.9, 0.95], dtype=torch.float64).requires_grad_()
    s0 = torch.rand(2, 2, 3, generator=g, dtype=torch.float64).requires_grad_()
    return x, alpha, s0


@pytest.mark.parametrize("sur", [fast_sigmoid(), arctan()], ids=lambda s: s.name)
def test_gradcheck_lif(sur):
    """With the spike replaced by its smooth primitive the network is differentiable, so
    gradcheck verifies the wiring of the backward through time, leak and reset."""
    x, alpha, s0 = _lif_case()
    assert torch.autograd.gradcheck(lambda a, b, c: lif_ref(a, b, c, surrogate=sur.primitive), (x, alpha, s0))


@pytest.mark.parametrize("sur", [fast_sigmoid(), arctan()], ids=lambda s: s.name)
def test_gradcheck_adlif(sur):
    x, alpha, s0 = _lif_case(2)
    beta = torch.tensor([0.9, 0.97, 0.99], dtype=torch.float64).requires_grad_()
    a = torch.tensor([0.3, 0.5, 0.1], dtype=torch.float64).requires_grad_()
    b = torch.tensor([1.0, 0.2, 1.5], dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda *z: adlif_ref(z[0], z[1], z[2], z[3], z[4], z[5], surrogate=sur.primitive), (x, alpha, beta, a, b, s0))


lif_ref, adlif_ref = R.lif_ref, R.adlif_ref


def test_lif_equations():
    """One neuron, by hand: leak, threshold, reset by subtraction."""
    x = torch.tensor([3.0, 3.0, 0.0]).view(3, 1, 1)
    s, st = lif_ref(x, torch.tensor([0.5]))
    # u0 = 0.5*0 + 0.5*3 = 1.5 -> spike; u1 = 0.75 + 1.5 - 1 = 1.25 -> spike; u2 = 0.625 - 1 < 1
    assert s.flatten().tolist() == [1.0, 1.0, 0.0]
    assert abs(st[0].item() - (0.5 * 1.25 + 0.0 - 1.0)) < 1e-6


def test_adlif_equations():
    x = torch.tensor([4.0, 0.0]).view(2, 1, 1)
    one = lambda v: torch.tensor([v])
    s, st = adlif_ref(x, one(0.5), one(0.5), one(0.2), one(1.0))
    # t0: u~ = 2 -> spike, u = 1, w = 0.5*(0.2*1 + 1) = 0.6
    # t1: u~ = 0.5*1 + 0.5*(0 - 0.6) = 0.2 -> no spike, u = 0.2, w = 0.3 + 0.5*0.04 = 0.32
    assert s.flatten().tolist() == [1.0, 0.0]
    assert torch.allclose(st.flatten(), torch.tensor([0.2, 0.32]), atol=1e-6)
