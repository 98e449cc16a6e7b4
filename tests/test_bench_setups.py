"""The benchmark's setup factory and report code, at tiny sizes (the timings themselves
live in bench/, run with `pytest bench/`)."""
import json
import os
import subprocess
import sys

import pytest
import torch

HERE = os.path.dirname(__file__)
BENCH = os.path.join(HERE, "..", "bench")
sys.path.insert(0, BENCH)

import setups  # noqa: E402

CPU = torch.device("cpu")


@pytest.mark.parametrize("mode", setups.MODES)
@pytest.mark.parametrize("provider", ("eager", "cpu", "lif_eager", "adlif_eager"))
@pytest.mark.parametrize("op", ("scan", "layer"))
def test_every_case_runs(op, provider, mode):
    case = setups.make_case(op, provider, mode, T=5, B=2, N=3, K=2, features=4)
    out = case.run(*case.setup())
    if mode == "fwd":
        y, sT = out
        assert y.shape == (5, 2, 3) and not y.requires_grad


def test_fused_and_eager_cases_compute_the_same():
    outs = {}
    for provider in ("eager", "cpu"):
        case = setups.make_case("scan", provider, "full", T=9, B=2, N=5, K=4, dtype=torch.float64)
        x, p, s0, gy, gs = case.setup()
        y, sT = case.forward(x, p, s0)
        torch.autograd.backward((y, sT), (gy, gs))
        outs[provider] = (y.detach(), sT.detach(), x.grad, p.grad, s0.grad)
    for a, b in zip(outs["eager"], outs["cpu"]):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_bytes_and_flops_counts():
    c = setups.make_case("scan", "cpu", "fwd", T=64, B=2, N=8, K=32)
    # x and y (64*16 floats each), params 14*8, state0 + state_T 2*4*16, 2 checkpoints 4*16
    assert setups.bytes_moved(c) == 4 * (2 * 64 * 16 + 14 * 8 + 2 * 4 * 16 + 2 * 4 * 16)
    assert setups.flops(c) == setups.FLOPS_FWD * 64 * 16
    full = setups.make_case("scan", "cpu", "full", T=64, B=2, N=8, K=32)
    assert setups.flops(full) == (setups.FLOPS_FWD + setups.FLOPS_BWD) * 64 * 16
    layer = setups.make_case("layer", "cpu", "fwd", T=64, B=2, N=8, K=32, features=3)
    assert setups.flops(layer) == setups.flops(c) + 2 * 64 * 16 * 3


def test_unknown_names_rejected():
    with pytest.raises(ValueError, match="unknown provider"):
        setups.make_case("scan", "nope", "fwd", T=2, B=1, N=1)
    with pytest.raises(ValueError, match="unknown mode"):
        setups.make_case("scan", "cpu", "sideways", T=2, B=1, N=1)
    assert setups.unavailable("cuda", CPU)  # a reason, not None


def test_memory_probe_and_report(tmp_path):
    res = subprocess.run([sys.executable, os.path.join(BENCH, "memory_probe.py"), "--provider", "cpu", "--T", "16",
                          "--B", "2", "--N", "8"], capture_output=True, text=True, check=True)
    probe = json.loads(res.stdout.strip().splitlines()[-1])
    assert probe["peak_rss_bytes"] > 0 and "rss_above_inputs_bytes" in probe
    rows = [{"op": "scan", "provider": p, "mode": "full", "T": T, "B": 8, "N": 512, "BN": 4096, "K": 32,
             "dtype": "float32", "device": "cpu", "test": f"test_scan_sweep_T[{T}]", "median_s": t,
             "p20_s": t, "p80_s": t, "neuron_steps_per_s": T * 4096 / t}
            for p, f in (("eager", 1.0), ("cpu", 0.01)) for T, t in ((256, f), (1024, 4 * f))]
    rows.append({"op": "scan", "provider": "cpu", "mode": "full", "T": 256, "B": 8, "N": 512, "BN": 4096, "K": 32,
                 "test": "test_scan_memory[T256-cpu]", "saved_bytes_per_neuron_step": 0.5,
                 "rss_above_inputs_bytes": 10 * 2 ** 20})
    from rows import markdown, with_ratios
    rows = with_ratios(rows)
    assert rows[2]["speedup_vs_eager"] == pytest.approx(100.0)
    md = markdown(rows)
    assert "| scan | cpu | full | 256 | 4096 | 32 |" in md and "0.50" in md
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"limits": {}, "rows": rows}))
    subprocess.run([sys.executable, os.path.join(BENCH, "report.py"), str(path)], check=True, capture_output=True)
    assert (tmp_path / "results.md").exists() and (tmp_path / "time_vs_T.png").exists()
    assert (tmp_path / "memory_vs_T.png").exists()


def test_correctness_gate_passes_the_cpu_backend_and_sees_a_wrong_one(monkeypatch):
    assert setups.gate_error("cpu", "cpu") <= 1e-10
    import mtc_kernels as M
    real = M.mtc_scan

    def off_by_a_bit(x, p, s0=None, *, backend="auto", **kw):
        y, sT = real(x, p, s0, backend=backend, **kw)
        return (y * (1 + 1e-6), sT) if backend == "cpu" else (y, sT)

    monkeypatch.setattr(M, "mtc_scan", off_by_a_bit)
    assert setups.gate_error("cpu", "cpu") > 1e-7
