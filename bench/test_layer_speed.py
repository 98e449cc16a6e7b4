"""Speed of the end-to-end layer training step: Linear(F -> N) over all T*B rows (one
GEMM) then the scan, forward / backward / both; MTCLayer on the eager reference and on
each fused backend, and the LIF / AdLIF layers (different neurons) for context."""
import pytest

from setups import FUSED, MODES
from sizes import sizes
from timing import build, time_case


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", ("eager",) + FUSED + ("lif_eager", "adlif_eager"))
def test_layer_step(benchmark, record, gate, device, provider, mode):
    s = sizes(device)
    case = build("layer", provider, mode, device, features=s["features"], **s["head"])
    time_case(benchmark, case, record, gate)
