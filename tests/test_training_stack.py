"""MTCLayer inside real training code: torch.compile, autocast, DDP, streaming windows,
serialisation, numerical health. (Property-based tests: test_properties.py; large
offsets: test_large_index.py.)"""
import io
import os
import socket
import tempfile

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import mtc_kernels as M
from mtc_kernels import MTCLayer, scan_in_windows

needs_cpu = pytest.mark.skipif("cpu" not in M.available_backends("cpu"), reason="fused CPU backend not built")


def _model(seed=0, dtype=torch.float32, **kw):
    torch.manual_seed(seed)
    layer = MTCLayer(5, 7, preset="bursting", jitter=0.1, dtype=dtype, **kw)
    with torch.no_grad():
        layer.linear.bias.uniform_(-2.2, -1.2)  # near the excitable range, so some neurons spike
    return torch.nn.Sequential(layer, torch.nn.Linear(7, 1, dtype=dtype))


# ---- torch.compile ---------------------------------------------------------------------

@needs_cpu
def test_compile_has_no_graph_breaks_and_matches_eager():
    model = _model()
    inp = torch.randn(20, 3, 5)
    explain = torch._dynamo.explain(model)(inp)
    assert explain.graph_break_count == 0, explain.break_reasons
    assert explain.graph_count == 1
    compiled = torch.compile(model, fullgraph=True)
    ye, yc = model(inp), compiled(inp)
    torch.testing.assert_close(yc, ye, rtol=1e-6, atol=1e-6)
    ge = torch.autograd.grad(ye.square().sum(), list(model.parameters()))
    gc = torch.autograd.grad(yc.square().sum(), list(model.parameters()))
    for a, b in zip(gc, ge):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@needs_cpu
def test_changing_T_does_not_recompile():
    from torch._dynamo.testing import CompileCounter
    torch._dynamo.reset()
    cnt = CompileCounter()
    model = _model()
    compiled = torch.compile(model, backend=cnt, fullgraph=True, dynamic=True)
    for T in (9, 17, 33, 64):
        compiled(torch.randn(T, 2, 5)).sum().backward()
    assert cnt.frame_count == 1


# ---- autocast --------------------------------------------------------------------------

@needs_cpu
def test_autocast_bfloat16_keeps_float32_state():
    model = _model()
    layer = model[0]
    inp = torch.randn(30, 2, 5)
    y32, s32 = layer(inp, return_state=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        x_lin = layer.linear(inp)
        y16, s16 = layer(inp, return_state=True)
    assert x_lin.dtype == torch.bfloat16  # the Linear ran in low precision
    assert s16.dtype == torch.float32  # the scan's state did not
    # The scan itself is the float32 scan of the bf16 drive: the state exactly, y up to its
    # rounding to bf16 (activity in [0, 1]: 2^-9 absolute).
    y_ref, s_ref = layer._scan(x_lin.float(), None)
    torch.testing.assert_close(s16, s_ref, rtol=1e-6, atol=1e-6)
    assert (y16.float() - y_ref).abs().max() <= 2.0 ** -9
    # Against the all-float32 layer: the bf16 drive shifts the excitable dynamics a little
    # (a spike upstroke amplifies the 2^-8 relative rounding), so compare on average.
    assert (y16.float() - y32).abs().mean() < 0.01
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(inp)
    out.float().sum().backward()
    assert all(p.grad is not None and p.grad.dtype == torch.float32 and torch.isfinite(p.grad).all()
               for p in model.parameters() if p.requires_grad)


# ---- DistributedDataParallel (gloo, 2 processes on this CPU) ----------------------------

def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank, world, port, inp, target, out_dir):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        model = torch.nn.parallel.DistributedDataParallel(_model(dtype=torch.float64))
        shard = slice(rank * inp.shape[1] // world, (rank + 1) * inp.shape[1] // world)
        loss = torch.nn.functional.mse_loss(model(inp[:, shard]), target[:, shard])
        loss.backward()  # DDP averages the gradients over the two ranks
        if rank == 0:
            torch.save([p.grad for p in model.module.parameters()], os.path.join(out_dir, "grads.pt"))
        # Both ranks done before either tears gloo down: a rank that destroys the group while
        # the other still holds its connections can abort in gloo's threads (seen once in CI:
        # "terminate called without an active exception").
        dist.barrier()
    finally:
        dist.destroy_process_group()


@needs_cpu
def test_ddp_gloo_matches_full_batch():
    g = torch.Generator().manual_seed(5)
    inp = torch.randn(25, 4, 5, generator=g, dtype=torch.float64)
    target = torch.randn(25, 4, 1, generator=g, dtype=torch.float64)
    model = _model(dtype=torch.float64)
    torch.nn.functional.mse_loss(model(inp), target).backward()
    with tempfile.TemporaryDirectory() as d:
        mp.spawn(_ddp_worker, args=(2, _free_port(), inp, target, d), nprocs=2, join=True)
        grads = torch.load(os.path.join(d, "grads.pt"))
    for p, gd in zip(model.parameters(), grads):
        torch.testing.assert_close(gd, p.grad, rtol=1e-10, atol=1e-13)


# ---- streaming / truncated BPTT --------------------------------------------------------

@pytest.mark.parametrize("batch_first", [False, True])
def test_carried_windows_equal_one_long_window(batch_first):
    torch.manual_seed(2)
    layer = MTCLayer(3, 6, jitter=0.2, batch_first=batch_first, dtype=torch.float64)
    with torch.no_grad():
        layer.linear.bias.uniform_(-2.2, -1.2)
    inp = torch.randn(2, 50, 3, dtype=torch.float64) if batch_first else torch.randn(50, 2, 3, dtype=torch.float64)
    gy = torch.randn_like(layer(inp))
    y_long, s_long = layer(inp, return_state=True)
    g_long = torch.autograd.grad((y_long * gy).sum() + s_long.sum(), list(layer.parameters()))
    y_win, s_win = scan_in_windows(layer, inp, 16)  # 16 + 16 + 16 + 2 steps
    torch.testing.assert_close(y_win, y_long, rtol=1e-12, atol=1e-13)
    torch.testing.assert_close(s_win, s_long, rtol=1e-12, atol=1e-13)
    g_win = torch.autograd.grad((y_win * gy).sum() + s_win.sum(), list(layer.parameters()))
    for a, b in zip(g_win, g_long):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    # truncated: the same values, and gradients that stop at each window's start
    y_tr, s_tr = scan_in_windows(layer, inp, 16, detach=True)
    torch.testing.assert_close(y_tr, y_long, rtol=1e-12, atol=1e-13)
    s_tr.sum().backward()  # only the last window (2 steps) sees this gradient
    w = layer.linear.weight.grad.clone()
    layer.zero_grad()
    state = scan_in_windows(layer, inp.narrow(int(batch_first), 0, 48), 16)[1].detach()
    layer(inp.narrow(int(batch_first), 48, 2), state=state, return_state=True)[1].sum().backward()
    torch.testing.assert_close(w, layer.linear.weight.grad, rtol=1e-12, atol=1e-14)


# ---- serialisation ---------------------------------------------------------------------

def test_state_dict_round_trip_is_bitwise():
    torch.manual_seed(3)
    layer = MTCLayer(4, 5, preset="phasic", jitter=0.3, freeze=("beta_m", "beta_f"))
    with torch.no_grad():
        layer.raw_beta_s.add_(-30.0)  # a constraint at its edge: beta_s near BETA_EPS
    inp = torch.randn(40, 2, 4)
    y = layer(inp)
    buf = io.BytesIO()
    torch.save(layer.state_dict(), buf)
    buf.seek(0)
    fresh = MTCLayer(4, 5, preset="phasic", freeze=("beta_m", "beta_f"))  # different jitter: overwritten
    fresh.load_state_dict(torch.load(buf))
    assert torch.equal(fresh(inp), y)
    assert torch.equal(fresh.params, layer.params)
    assert fresh.frozen == ("beta_m", "beta_f") and "beta_m" in dict(fresh.named_buffers())
    assert float(fresh.param("beta_s").detach().min()) > 0 and float(fresh.param("beta_m").max()) == 1.0
    whole = io.BytesIO()
    torch.save(layer, whole)
    whole.seek(0)
    again = torch.load(whole, weights_only=False)
    assert torch.equal(again(inp), y) and again.preset == "phasic"


# ---- numerical health ------------------------------------------------------------------

@needs_cpu
@pytest.mark.parametrize("preset", sorted(M.PRESETS))
def test_long_runs_stay_finite(preset):
    T, N = 100_000, 3
    p = M.preset_params(preset, N, jitter=0.1, generator=torch.Generator().manual_seed(0))
    g = torch.Generator().manual_seed(1)
    x = M.PRESETS[preset]["step_input"] + 0.5 * torch.randn(T, 1, N, generator=g)
    x = x.requires_grad_()
    y, sT = M.mtc_scan(x, p.requires_grad_(), M.rest_state(p.detach(), -2.5).unsqueeze(1), backend="cpu")
    assert torch.isfinite(y).all() and torch.isfinite(sT).all()
    (y.sum() + sT.sum()).backward()
    assert torch.isfinite(x.grad).all() and torch.isfinite(p.grad).all()


@pytest.mark.parametrize("backend", ["reference"] + [b for b in M.available_backends("cpu") if b == "cpu"])
def test_nan_input_propagates_without_touching_other_batch_elements(backend):
    g = torch.Generator().manual_seed(4)
    x = torch.randn(30, 3, 4, generator=g, dtype=torch.float64) - 1.6
    p = M.preset_params("bursting", 4, dtype=torch.float64)
    y_clean, s_clean = M.mtc_scan(x, p, backend=backend)
    x[10, 1, 2] = float("nan")
    y, s = M.mtc_scan(x, p, backend=backend)
    assert torch.isnan(y[10:, 1, 2]).all() and torch.isnan(s[:, 1, 2]).all()  # NaN from step 10 on
    assert torch.equal(y[:10], y_clean[:10])  # nothing before it changes
    keep = torch.ones(3, 4, dtype=torch.bool)
    keep[1, 2] = False
    assert torch.equal(y[:, keep], y_clean[:, keep])  # nor any other neuron or batch element
    assert torch.equal(s[:, keep], s_clean[:, keep])
    x[5, 0, 0] = float("inf")
    y, _ = M.mtc_scan(x, p, backend=backend)
    # inf drives v' to inf (y clamps it to 1 at that step); the next step computes inf - inf
    assert torch.isnan(y[6:, 0, 0]).all()
    assert torch.equal(y[:, 2], y_clean[:, 2])
