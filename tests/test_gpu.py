"""The GPU backends on CUDA tensors against python_ref (run on the same device), all input
dtypes; bitwise-repeatable runs; the CUDA and Triton backends agree. Marked ``gpu``:
skipped, with the reason, where there is no CUDA device (bench/gpu_check.sh runs them)."""
import pytest
import torch

import mtc_kernels as M
import python_ref as R
from conftest import TOL, assert_close, make_case, run_with_grads

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]

GPU_BACKENDS = ["triton", "cuda"]


def _need(backend):
    reason = M.backends.get(backend).unavailable_reason(torch.device("cuda"))
    if reason:
        pytest.skip(f"backend {backend!r} unavailable: {reason}")


def _cuda_case(*shape, dtype=torch.float64, seed=0):
    x, p, s0, gy, gs = make_case(*shape, dtype=dtype, seed=seed, requires_grad=False)
    return [t.cuda().requires_grad_(t.is_floating_point() and i < 3) for i, t in enumerate((x, p, s0, gy, gs))]


@pytest.mark.parametrize("backend", GPU_BACKENDS)
@pytest.mark.parametrize("T,B,N,K", [(1, 1, 1, 4), (37, 3, 70, 5), (40, 2, 65, 8), (12, 1, 129, 1), (9, 2, 7, 100),
                                     (100, 4, 300, 32)])
def test_float64_matches_reference(backend, T, B, N, K):
    _need(backend)
    case = _cuda_case(T, B, N)
    ref = run_with_grads(R.mtc_scan_ref, *case)
    got = run_with_grads(lambda a, b, c: M.mtc_scan(a, b, c, backend=backend, checkpoint_every=K), *case)
    for name, a, b in zip(("y", "state_T", "gx", "gparams", "gstate0"), got, ref):
        assert_close(a, b, TOL[torch.float64], f"{backend} {name}")


@pytest.mark.parametrize("backend", GPU_BACKENDS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_low_precision_inputs(backend, dtype):
    """float32 against the float32 reference; bf16/fp16 against the reference run in float32
    on the same rounded inputs (the kernels cast to float32 inside)."""
    _need(backend)
    x, p, s0, gy, gs = _cuda_case(30, 3, 257, dtype=torch.float32, seed=3)
    xr = x.detach().to(dtype).requires_grad_()
    got = run_with_grads(lambda a, b, c: M.mtc_scan(a, b, c, backend=backend, checkpoint_every=8), xr, p, s0, gy.to(dtype), gs)
    xf = xr.detach().float().requires_grad_()
    ref = run_with_grads(R.mtc_scan_ref, xf, p, s0, gy.to(dtype).float(), gs)
    # y comes back in the input dtype: compare within that dtype's rounding.
    ytol = {torch.float32: TOL[torch.float32], torch.bfloat16: 1e-2, torch.float16: 2e-3}[dtype]
    assert got[0].dtype == dtype
    assert_close(got[0], ref[0], ytol, "y")
    for name, a, b in zip(("state_T", "gx", "gparams", "gstate0"), got[1:], ref[1:]):
        tol = TOL[torch.float32] if name != "gx" else ytol
        assert_close(a, b, tol, name)


@pytest.mark.parametrize("backend", GPU_BACKENDS)
def test_bitwise_repeatable(backend):
    _need(backend)
    case = _cuda_case(64, 4, 1000, dtype=torch.float32, seed=5)
    f = lambda a, b, c: M.mtc_scan(a, b, c, backend=backend, checkpoint_every=16)
    first = run_with_grads(f, *case)
    again = run_with_grads(f, *case)
    for a, b in zip(first, again):
        assert torch.equal(a, b)


def test_cuda_and_triton_agree():
    _need("cuda"); _need("triton")
    case = _cuda_case(50, 2, 300, dtype=torch.float64, seed=6)
    a = run_with_grads(lambda x, p, s: M.mtc_scan(x, p, s, backend="cuda"), *case)
    b = run_with_grads(lambda x, p, s: M.mtc_scan(x, p, s, backend="triton"), *case)
    for u, v in zip(a, b):
        assert_close(u, v, 1e-12, "cuda vs triton")


@pytest.mark.parametrize("backend", GPU_BACKENDS)
def test_auto_picks_a_gpu_backend(backend):
    _need(backend)
    x = torch.zeros(3, 1, 4, device="cuda")
    assert M.backends.resolve("auto", x.device).name in ("cuda", "triton")


def _f32_case(seed=7):
    x, p, s0, _, _ = _cuda_case(40, 2, 300, dtype=torch.float32, seed=seed)
    return x.detach(), p.detach(), s0.detach()


@pytest.mark.parametrize("backend", GPU_BACKENDS)
def test_runs_on_the_current_stream(backend):
    """The kernels run on torch's current stream: on a side stream whose input is written by
    work queued on that stream just before (behind a GPU sleep), they read the new input."""
    _need(backend)
    x, p, s0 = _f32_case()
    expected = M.mtc_scan(x, p, s0, backend=backend)
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        xs = torch.zeros_like(x)
        torch.cuda._sleep(50_000_000)  # ~tens of ms of GPU time before the copy lands
        xs.copy_(x)
        got = M.mtc_scan(xs, p, s0, backend=backend, validate=False)
    torch.cuda.current_stream().wait_stream(side)
    torch.cuda.synchronize()
    for a, b in zip(got, expected):
        assert torch.equal(a, b)


@pytest.mark.parametrize("backend", GPU_BACKENDS)
def test_cuda_graph_capture_and_replay(backend):
    """Captured in a CUDA graph (after a warm-up that compiles/autotunes), a replay on new
    input values gives what an eager call gives."""
    _need(backend)
    x, p, s0 = _f32_case()
    static_x = x.clone()
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):  # warm-up off the default stream, as torch asks before capture
        M.mtc_scan(static_x, p, s0, backend=backend, validate=False)
    torch.cuda.current_stream().wait_stream(side)
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        y, sT = M.mtc_scan(static_x, p, s0, backend=backend, validate=False)  # validate would sync
    new_x = x * 0.9 - 0.2
    static_x.copy_(new_x)
    graph.replay()
    torch.cuda.synchronize()
    ey, esT = M.mtc_scan(new_x, p, s0, backend=backend)
    assert torch.equal(y, ey) and torch.equal(sT, esT)


@pytest.mark.parametrize("backend", GPU_BACKENDS)
def test_second_gpu(backend):
    """Inputs on cuda:1 run on cuda:1 (the device guard) and give cuda:0's results, while
    cuda:0 stays the current device."""
    if torch.cuda.device_count() < 2:
        pytest.skip("needs two CUDA GPUs")
    _need(backend)
    x, p, s0 = _f32_case()
    on0 = M.mtc_scan(x, p, s0, backend=backend)
    with torch.cuda.device(0):
        on1 = M.mtc_scan(x.to("cuda:1"), p.to("cuda:1"), s0.to("cuda:1"), backend=backend)
        assert torch.cuda.current_device() == 0
    for a, b in zip(on1, on0):
        assert a.device == torch.device("cuda:1") and torch.equal(a.cpu(), b.cpu())
