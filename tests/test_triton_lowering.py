"""The Triton kernels lower to real GPU code (PTX and cubin for sm_80 and sm_90) with
``triton.compile`` and a CUDA target, which needs no GPU. A kernel that only the
interpreter accepts fails here. Runs in a subprocess without TRITON_INTERPRET (the test
session sets it, and interpreted kernels cannot be compiled)."""
import os
import subprocess
import sys

import pytest

triton = pytest.importorskip("triton", reason="Triton is not installed (pip install -e '.[test]')")


def test_kernels_compile_for_sm80_and_sm90():
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    out = subprocess.run([sys.executable, "-m", "mtc_kernels.triton.lowering", "--arch", "80", "90"],
                         env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-4000:]
    lines = [line for line in out.stdout.splitlines() if "cubin" in line]
    # 4 dtypes x (1 forward + 3 backward variants) x 2 architectures, each a non-empty cubin
    # whose pointer offsets are all 64-bit and whose divisions are all correctly rounded.
    assert len(lines) == 32, out.stdout
    assert all(int(line.split("cubin ")[1].split()[0]) > 0 for line in lines)
    assert all(line.endswith("every pointer offset 64-bit, every division correctly rounded")
               for line in lines), out.stdout


def test_narrow_offsets_are_found():
    from mtc_kernels.triton.lowering import narrow_offsets
    ttir = """
    %1 = tt.addptr %p_ptr, %N : !tt.ptr<f32>, i32 loc(#loc1)
    %2 = tt.addptr %0, %o : tensor<128x!tt.ptr<f32>>, tensor<128xi64> loc(#loc2)
    %3 = tt.addptr %0, %o : tensor<128x!tt.ptr<f32>>, tensor<128xi32> loc(#loc3)
    %4 = tt.addptr %y_ptr, %5 : !tt.ptr<bf16>, i64
    %6 = tt.load %2 : tensor<128x!tt.ptr<f32>>
    """
    assert [line.split(" =")[0] for line in narrow_offsets(ttir)] == ["%1", "%3"]


def test_approximate_divisions_are_found():
    from mtc_kernels.triton.lowering import approximate_divisions
    ptx = "div.rn.f32 %f3, %f1, %f2;\n div.full.f32 %f4, %f1, %f2;\n div.rn.f64 %fd3, %fd1, %fd2;\n div.s64 %rd1, %rd2, %rd3;"
    assert approximate_divisions(ptx) == ["div.full.f32"]


def test_triton_kernels_run_under_the_interpreter_here():
    """Says, as a skip reason, why the interpreter runs of tests/test_fused_vs_reference.py
    do not include the Triton backend on this machine (when they do not)."""
    from conftest import FUSED_ON_CPU, TRITON_ON_CPU_REASON
    if TRITON_ON_CPU_REASON:
        pytest.skip(f"Triton backend not run on CPU tensors here: {TRITON_ON_CPU_REASON}")
    assert "triton" in FUSED_ON_CPU
