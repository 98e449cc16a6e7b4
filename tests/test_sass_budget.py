"""bench/sass_budget.py reads the compiled kernels' time loops out of their SASS
(nvcc and Triton compile for sm_90 here without a GPU; cuobjdump from the toolkit or Triton's
copy). The CUDA forward runs several steps per loop iteration (csrc/cuda/mtc_cuda.cu)."""
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "bench"))
import cuda_build  # noqa: E402

pytest.importorskip("triton", reason="Triton is not installed (it also ships the cuobjdump used here)")
pytestmark = pytest.mark.skipif(cuda_build.find_nvcc() is None, reason="no nvcc on this machine")


def test_budget_of_both_forward_kernels(tmp_path):
    import json
    import sass_budget
    out = tmp_path / "budget.json"
    sass_budget.main(["--arch", "90", "--copy-gbs", "4000", "--json", str(out)])
    rows = json.loads(out.read_text())["kernels"]
    cuda = rows["cuda forward fp32"]
    (triton_row,) = [r for k, r in rows.items() if k.startswith("triton forward fp32")]
    for r in (cuda, triton_row):
        # four tanh (two MUFU each) and the activity's division (one): 9 MUFU per step; the
        # rest of the step is ~100 instructions.
        assert r["mufu_per_step"] == pytest.approx(9, abs=1)
        assert 50 < r["instructions_per_step"] < 200
        assert 0 < r["memory_per_step"] <= 2  # x read, y written (fewer if vectorised)
        assert 0 < r["bound_fraction_of_copy"] < 2
    assert cuda["neuron_steps_per_iteration"] == 4  # kUnroll
    for name in ("cuda backward fp32", next(k for k in rows if k.startswith("triton backward fp32"))):
        b = rows[name]
        # the recompute advances the state (four tanh: 8 MUFU; y is not needed, so no
        # division); the adjoint evaluates the four tanh again and divides by w four times.
        assert b["recompute"]["mufu_per_step"] == pytest.approx(8, abs=1)
        assert b["adjoint"]["mufu_per_step"] == pytest.approx(12, abs=1)
        assert b["adjoint"]["instructions_per_step"] > b["recompute"]["instructions_per_step"] > 50
        assert 0 < b["bound_fwd_bwd_neuron_steps_per_s"] < cuda["bound_neuron_steps_per_s"]
