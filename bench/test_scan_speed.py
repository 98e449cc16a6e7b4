"""Speed of the MTC scan: every provider and mode at the headline shape, then sweeps of T,
B*N and the checkpoint interval K for the fused backends (and the eager reference where it
takes seconds, not minutes). Rows: see conftest.py; ratios are computed within the run."""
import pytest

from setups import FUSED, MODES, MTC_PROVIDERS, CONTEXT
from sizes import CPU, sizes, split_bn
from timing import build, time_case


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", MTC_PROVIDERS + CONTEXT)
def test_scan_head(benchmark, record, gate, device, provider, mode):
    s = sizes(device)
    case = build("scan", provider, mode, device, **s["head"])
    time_case(benchmark, case, record, gate)


def _t_params():
    return [pytest.param(T, id=f"T{T}") for T in CPU["T"]] + [
        pytest.param(T, id=f"T{T}", marks=pytest.mark.long) for T in CPU["T_long"]]


@pytest.mark.parametrize("mode", ("fwd", "full"))
@pytest.mark.parametrize("provider", ("eager",) + FUSED)
@pytest.mark.parametrize("T", _t_params())
def test_scan_sweep_T(benchmark, record, gate, device, provider, mode, T):
    s = sizes(device)
    if provider == "eager" and T > s["T_eager_max"]:
        pytest.skip(f"eager reference timed up to T={s['T_eager_max']} (seconds per call beyond)")
    case = build("scan", provider, mode, device, T=T, **s["sweep_BN"])
    time_case(benchmark, case, record, gate)


def _bn_params():
    return [pytest.param(i, id=f"BN{i}") for i in range(3)] + [pytest.param(3, id="BN-long", marks=pytest.mark.long)]


@pytest.mark.parametrize("mode", ("fwd", "full"))
@pytest.mark.parametrize("provider", ("eager",) + FUSED)
@pytest.mark.parametrize("which", _bn_params())
def test_scan_sweep_BN(benchmark, record, gate, device, provider, mode, which):
    s = sizes(device)
    bns = s["BN"] + s["BN_long"]
    bn = bns[which]
    if provider == "eager" and mode == "full" and which > 0:
        pytest.skip("eager forward+backward timed at the smallest B*N only (seconds per call beyond)")
    B, N = split_bn(bn, s["sweep_BN"]["N"])
    case = build("scan", provider, mode, device, T=s["BN_T"], B=B, N=N)
    time_case(benchmark, case, record, gate)


@pytest.mark.parametrize("provider", FUSED)
@pytest.mark.parametrize("K", CPU["K"])
def test_scan_sweep_K(benchmark, record, gate, device, provider, K):
    s = sizes(device)
    case = build("scan", provider, "full", device, K=K, **s["head"])
    time_case(benchmark, case, record, gate)
