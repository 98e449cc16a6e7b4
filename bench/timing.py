"""Timing one benchmark case with pytest-benchmark (shared by the speed tests)."""
import time

import pytest

from setups import make_case, unavailable


def build(op, provider, mode, device, **shape):
    reason = unavailable(provider, device)
    if reason:
        pytest.skip(f"{provider} unavailable on {device}: {reason}")
    return make_case(op, provider, mode, device=device, **shape)


def time_case(benchmark, case, record, gate, budget_s: float = 3.0):
    """Gate the provider, warm it up (torch.compile, Triton autotuning, page faults), then
    let pytest-benchmark time ``case.run`` on fresh ``case.setup()`` inputs each round;
    about ``budget_s`` seconds of timed rounds, between 3 and 15 of them."""
    gate(case.provider)
    args = case.setup()
    t0 = time.perf_counter()
    case.run(*args)
    warm = time.perf_counter() - t0
    del args
    rounds = max(3, min(15, int(budget_s / max(warm, 1e-4))))
    benchmark.group = f"{case.op}-{case.mode}-T{case.T}-BN{case.B * case.N}-K{case.K}"
    benchmark.pedantic(case.run, setup=lambda: (case.setup(), {}), rounds=rounds, iterations=1)
    return record(case, benchmark)
