"""MTCLayer / LIFLayer / AdLIFLayer: shapes, batch_first, state, freezing, constraints, compile."""
import pytest
import torch

import mtc_kernels as M
import python_ref as R
from mtc_kernels import AdLIFLayer, LIFLayer, MTCLayer

LAYERS = [lambda **kw: MTCLayer(5, 7, jitter=0.1, **kw), lambda **kw: LIFLayer(5, 7, **kw),
          lambda **kw: AdLIFLayer(5, 7, **kw)]
IDS = ["mtc", "lif", "adlif"]


@pytest.mark.parametrize("make", LAYERS, ids=IDS)
def test_shapes_and_batch_first(make):
    torch.manual_seed(0)
    layer = make()
    inp = torch.randn(11, 3, 5)
    y, st = layer(inp, return_state=True)
    assert y.shape == (11, 3, 7) and st.shape[1:] == (3, 7)
    bf = make(batch_first=True)
    bf.load_state_dict(layer.state_dict())
    y_bf = bf(inp.transpose(0, 1))
    assert y_bf.shape == (3, 11, 7)
    assert torch.allclose(y_bf.transpose(0, 1), y, atol=1e-6)
    with pytest.raises(ValueError, match="input must have shape"):
        layer(torch.randn(11, 3, 4))


@pytest.mark.parametrize("make", LAYERS, ids=IDS)
def test_state_carries_across_windows(make):
    torch.manual_seed(1)
    layer = make()
    inp = torch.randn(12, 2, 5)
    y, st = layer(inp, return_state=True)
    ya, sa = layer(inp[:5], return_state=True)
    yb, sb = layer(inp[5:], state=sa, return_state=True)
    assert torch.allclose(torch.cat([ya, yb]), y, atol=1e-6) and torch.allclose(sb, st, atol=1e-6)


def test_mtc_layer_params_and_rest():
    layer = MTCLayer(3, 4, preset="tonic")
    p = layer.params
    assert p.shape == (14, 4)
    want = M.preset_params("tonic", 4)
    assert torch.allclose(p, want, atol=2e-6)
    # zero input at rest stays at rest (the bias holds the rest input)
    y, st = layer(torch.zeros(50, 2, 3), return_state=True)
    assert float(y.detach().abs().max()) == 0.0
    assert torch.allclose(st, layer.initial_state(2), atol=1e-5)


def test_frozen_parameters_get_no_gradient_and_stay_exact():
    layer = MTCLayer(3, 4, freeze=("beta_m", "beta_f", "a_f"))
    assert not any(n.endswith(("beta_m", "beta_f", "a_f")) for n, _ in layer.named_parameters())
    y = layer(torch.randn(20, 2, 3))
    y.sum().backward()
    assert layer.param("beta_m").grad is None and layer.beta_m.requires_grad is False
    assert torch.equal(layer.param("beta_m"), torch.ones(4))  # exact, not sigmoid(raw) ~ 1
    assert layer.raw_d_f.grad is not None and layer.raw_beta_s.grad is not None
    with pytest.raises(ValueError, match="unknown parameter name"):
        MTCLayer(3, 4, freeze=("tau",))


def test_constraints_survive_a_huge_step():
    torch.manual_seed(2)
    layer = MTCLayer(3, 16, preset="bursting", jitter=0.2)
    opt = torch.optim.SGD(layer.parameters(), lr=1e6)
    for _ in range(3):
        opt.zero_grad()
        inp = torch.randn(30, 2, 3) * 3
        y = layer(inp)
        (y.sum() + layer.params.pow(2).sum()).backward()
        opt.step()
        p = layer.params.detach()
        for name in R.BETA_NAMES:
            row = p[R.PARAM_INDEX[name]]
            assert bool(((row > 0) & (row <= 1)).all()), name
        assert bool((p[R.PARAM_INDEX["v_sat"]] > p[R.PARAM_INDEX["v_th"]]).all())
        M.mtc_scan(torch.zeros(2, 1, 16), p, validate=True)  # passes the strict checks


def test_mtc_layer_uses_fused_backend_and_matches_reference():
    torch.manual_seed(3)
    fused = MTCLayer(4, 9, jitter=0.1, dtype=torch.float64)
    ref = MTCLayer(4, 9, jitter=0.1, backend="reference", dtype=torch.float64)
    ref.load_state_dict(fused.state_dict())
    inp = torch.randn(25, 2, 4, dtype=torch.float64)
    y1, y2 = fused(inp), ref(inp)
    assert torch.allclose(y1, y2, atol=1e-12)
    g1 = torch.autograd.grad(y1.pow(2).sum(), list(fused.parameters()))
    g2 = torch.autograd.grad(y2.pow(2).sum(), list(ref.parameters()))
    for a, b in zip(g1, g2):
        assert torch.allclose(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.skipif("cpu" not in M.available_backends("cpu"), reason="fused CPU backend not built")
def test_torch_compile_fullgraph():
    torch.manual_seed(4)
    layer = MTCLayer(4, 6, jitter=0.1)
    model = torch.nn.Sequential(layer, torch.nn.Linear(6, 1))
    compiled = torch.compile(model, fullgraph=True)
    inp = torch.randn(16, 2, 4)
    y_e, y_c = model(inp), compiled(inp)
    assert torch.allclose(y_e, y_c, atol=1e-6)
    ge = torch.autograd.grad(y_e.sum(), list(model.parameters()))
    gc = torch.autograd.grad(y_c.sum(), list(model.parameters()))
    for a, b in zip(ge, gc):
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-6)
