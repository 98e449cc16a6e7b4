"""pytest-benchmark plumbing for ``pytest bench/``: options, the machine's limits measured
once per session, the correctness gate, and the rows written at the end.

Options:
  --bench-long          the long sweeps (T up to 131,072; B*N up to 10^6 on a GPU)
  --bench-device D      cpu or cuda (default: cuda when available, else cpu)
  --bench-out DIR       where results.json (one row per measurement) and results.md go
                        (default out/bench)
"""
from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
import time

import pytest
import torch

sys.path.insert(0, os.path.dirname(__file__))

from rows import bounds_line, markdown, with_ratios  # noqa: E402
from setups import CONTEXT, FUSED, bytes_moved, flops, gate_error  # noqa: E402

ROWS: list = []
LIMITS: dict = {}


def pytest_addoption(parser):
    g = parser.getgroup("mtc-bench")
    g.addoption("--bench-long", action="store_true", help="run the long sweeps")
    g.addoption("--bench-device", default=None, help="cpu or cuda (default: cuda when available)")
    g.addoption("--bench-out", default="out/bench", help="directory for results.json and results.md")


def pytest_configure(config):
    config.addinivalue_line("markers", "long: a long sweep, run with --bench-long")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--bench-long"):
        return
    skip = pytest.mark.skip(reason="long sweep: run with --bench-long")
    for item in items:
        if "long" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def device(pytestconfig):
    d = pytestconfig.getoption("--bench-device") or ("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(d)


def _median(fn, reps, sync):
    ts = []
    for _ in range(reps):
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        ts.append(time.perf_counter() - t0)
    return sorted(ts)[len(ts) // 2]


@pytest.fixture(scope="session")
def limits(device):
    """The machine's bounds, measured in this run: the copy bandwidth of a large tensor
    copy (bytes read + written per second) and the float32 matmul FLOP rate."""
    if LIMITS.get("device") == str(device):
        return LIMITS
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)
    n = 2 ** 28 if device.type == "cuda" else 2 ** 26  # 1 GiB / 256 MiB of float32
    src = torch.ones(n, device=device)
    dst = torch.empty_like(src)
    dst.copy_(src)
    t = _median(lambda: dst.copy_(src), 7, sync)
    m = 8192 if device.type == "cuda" else 2048
    a = torch.randn(m, m, device=device)
    prev = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False  # the float32 peak, not TF32's
    a @ a
    tm = _median(lambda: a @ a, 5, sync)
    torch.backends.cuda.matmul.allow_tf32 = prev
    LIMITS.update(device=str(device), copy_bandwidth_Bps=2 * n * 4 / t, peak_flops_f32=2 * m ** 3 / tm)
    return LIMITS


@pytest.fixture(scope="session")
def machine(device):
    def git(*args):
        try:
            return subprocess.run(["git", *args], capture_output=True, text=True, cwd=os.path.dirname(__file__),
                                  timeout=10).stdout.strip()
        except Exception:
            return ""
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else (platform.processor() or platform.machine())
    return {"machine": name, "cpus": os.cpu_count(), "threads": torch.get_num_threads(), "torch": torch.__version__,
            "commit": git("rev-parse", "--short", "HEAD") + ("-dirty" if git("status", "--porcelain", "-uno") else ""),
            "date": datetime.date.today().isoformat()}


_GATE: dict = {}


@pytest.fixture
def gate(device):
    """``gate(provider)``: the fused provider against the reference on a small float64 case
    (forward, state_T, and the gradients of x, params and state0 under random output
    gradients). A provider that disagrees fails here and is never timed."""
    def check(provider):
        if provider not in FUSED:
            return
        if provider not in _GATE:
            _GATE[provider] = gate_error(provider, device)
        err = _GATE[provider]
        if not err <= 1e-10:
            pytest.fail(f"{provider} disagrees with python_ref (max relative error {err:.2e} > 1e-10 in float64): "
                        "not timed")
    return check


def _quantile(sorted_data, q):
    i = q * (len(sorted_data) - 1)
    lo, hi = int(i), min(int(i) + 1, len(sorted_data) - 1)
    return sorted_data[lo] + (sorted_data[hi] - sorted_data[lo]) * (i - lo)


@pytest.fixture
def record(machine, limits, request):
    """``record(case, benchmark=None, **figures)``: one JSON row for ``case``; with a
    finished pytest-benchmark ``benchmark``, its median and p20/p80 and the derived
    throughput and fractions of the machine's bounds."""
    def add(case, benchmark=None, **figures):
        row = {"op": case.op, "provider": case.provider, "mode": case.mode, **case.shape(),
               "dtype": str(case.dtype).replace("torch.", ""), "K": case.K, "device": str(case.device),
               "test": request.node.name}
        if benchmark is not None and benchmark.stats is not None:  # None under --benchmark-disable
            data = sorted(benchmark.stats.stats.data)
            med = _quantile(data, 0.5)
            row.update(median_s=med, p20_s=_quantile(data, 0.2), p80_s=_quantile(data, 0.8), rounds=len(data),
                       neuron_steps_per_s=case.neuron_steps / med)
            if case.provider not in CONTEXT:  # the bounds are MTC's
                row["fraction_of_copy_bound"] = bytes_moved(case) / med / limits["copy_bandwidth_Bps"]
                row["fraction_of_flop_peak"] = flops(case) / med / limits["peak_flops_f32"]
        row.update(figures)
        row.update(machine)
        ROWS.append(row)
        return row
    return add


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not ROWS:
        return
    rows = with_ratios(ROWS)
    out = config.getoption("--bench-out")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({"limits": LIMITS, "rows": rows}, f, indent=1)
    md = markdown(rows)
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(bounds_line(LIMITS) + "\n" + md)
    terminalreporter.write_sep("=", "mtc-kernels benchmark (speed-ups measured in this run)")
    terminalreporter.write_line(f"copy bandwidth {LIMITS.get('copy_bandwidth_Bps', 0) / 1e9:.1f} GB/s, float32 peak "
                                f"{LIMITS.get('peak_flops_f32', 0) / 1e9:.0f} GFLOP/s")
    for line in md.splitlines():
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"rows written to {out}/results.json and {out}/results.md; "
                                f"plots: python bench/report.py {out}/results.json")
