"""The CUDA backend without a GPU: its sources compile with this machine's nvcc for sm_80 and
sm_90 (the flags setup.py uses), the pybind11 module builds and imports, the kernels use the
same math header as the CPU kernel (tested against the reference in test_fused_vs_reference),
and asking for the backend where it cannot run says how to get it."""
import os
import re
import shutil
import subprocess
import sys

import pytest
import torch

import mtc_kernels as M

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
import cuda_build  # noqa: E402

NVCC = cuda_build.find_nvcc()


@pytest.mark.skipif(NVCC is None, reason="no nvcc on this machine (CUDA toolkit not installed)")
def test_cuda_sources_compile_for_sm80_and_sm90(tmp_path):
    objs = cuda_build.compile_objects(NVCC, ROOT, str(tmp_path), [80, 90])
    assert all(os.path.getsize(o) > 0 for o in objs)
    cuobjdump = os.path.join(os.path.dirname(os.path.realpath(NVCC)), "cuobjdump")
    if not os.path.exists(cuobjdump):
        cuobjdump = shutil.which("cuobjdump")
    if cuobjdump:
        listing = subprocess.run([cuobjdump, "--list-elf", objs[0]], capture_output=True, text=True).stdout
        assert "sm_80" in listing and "sm_90" in listing, listing


def _includes(path):
    with open(os.path.join(ROOT, path)) as f:
        return re.findall(r'#include "([^"]+)"', f.read())


def test_cuda_and_cpu_kernels_share_the_math_header():
    assert "../mtc_step.h" in _includes("csrc/cuda/mtc_cuda.cu")
    assert "../mtc_step.h" in _includes("csrc/cpu/mtc_cpu.cpp")
    with open(os.path.join(ROOT, "csrc/cuda/mtc_cuda.cu")) as f:
        src = f.read()
    # The kernels call the shared step and adjoint, not a copy of them.
    assert "step_forward(" in src and "step_adjoint(" in src and "i_ion" not in src


@pytest.mark.skipif(NVCC is None, reason="no nvcc on this machine, so setup.py skipped the CUDA module")
def test_cuda_module_is_built_and_imports_without_a_gpu():
    from mtc_kernels import _cuda
    n = _cuda.device_count()
    assert n >= 0 and (n > 0) == torch.cuda.is_available()


def test_cuda_backend_says_how_to_get_it():
    x = torch.zeros(3, 1, 2)
    with pytest.raises(M.BackendUnavailableError, match="CUDA tensors"):
        M.mtc_scan(x, M.make_params(2), backend="cuda")
    if not torch.cuda.is_available():
        reason = M.backends.get("cuda").unavailable_reason(torch.device("cuda"))
        assert reason and ("not built" in reason or "no CUDA device" in reason)


def test_host_emulation_of_the_cuda_kernels_is_built_where_the_toolkit_is():
    """tests/cuda_emulation.py: with the CUDA headers here, the CUDA kernels are also run on the
    CPU (backend "cuda-emu") by every fused-backend test; a build failure fails here."""
    from conftest import CUDA_EMU_REASON, FUSED_ON_CPU
    if cuda_build.cuda_include_dir() is None or os.environ.get("MTC_CUDA_EMU") == "0":
        pytest.skip(f"not built: {CUDA_EMU_REASON}")
    assert CUDA_EMU_REASON is None, CUDA_EMU_REASON
    assert "cuda-emu" in FUSED_ON_CPU


def _emulated_lib():
    from conftest import CUDA_EMU_REASON
    if CUDA_EMU_REASON:
        pytest.skip(CUDA_EMU_REASON)
    return M.backends.get("cuda-emu")._lib


def test_emulated_launch_errors_are_reported_as_cuda_reports_them():
    """A launch CUDA refuses (zero blocks) and a device that does not exist come back as the
    runtime's error text (the check() path of csrc/cuda/mtc_cuda.cu)."""
    lib = _emulated_lib()
    x, p, s0 = torch.zeros(1, 1, 1), M.make_params(1), torch.zeros(4, 1, 1)
    y, sT, ck = torch.empty(1, 1, 1), torch.empty(4, 1, 1), torch.empty(1, 4, 1, 1)
    args = (x.data_ptr(), 1, 1, p.data_ptr(), s0.data_ptr(), y.data_ptr(), sT.data_ptr(), ck.data_ptr())
    with pytest.raises(RuntimeError, match="forward launch: invalid configuration argument"):
        lib.forward(lib.F32, 0, 0, *args, 1, 0, 1, 1)  # B = 0: zero blocks
    with pytest.raises(RuntimeError, match="cudaSetDevice: invalid device ordinal"):
        lib.forward(lib.F32, 1, 0, *args, 1, 1, 1, 1)
    lib.forward(lib.F32, 0, 0, *args, 1, 1, 1, 1)  # the sticky error was cleared
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("T,B,N,K", [(37, 3, 70, 5), (16, 2, 129, 16), (1, 1, 1, 4)])
def test_emulated_cuda_kernels_equal_the_cpu_kernel_in_float64(T, B, N, K):
    """Both compile csrc/mtc_step.h with the host compiler (FMA contraction off, the library
    tanh in float64), so per neuron they run the same operations in the same order: y,
    state_T and the gradients on x and state0 are bitwise equal. The parameter gradients are
    sums over batch and time whose order each kernel may choose."""
    _emulated_lib()
    if "cpu" not in M.available_backends("cpu"):
        pytest.skip("the CPU kernel is not built")
    from conftest import make_case, run_with_grads
    case = make_case(T, B, N, torch.float64, seed=4)
    cpu, emu = (run_with_grads(lambda x, p, s, b=b: M.mtc_scan(x, p, s, backend=b, checkpoint_every=K), *case)
                for b in ("cpu", "cuda-emu"))
    for name, a, b in zip(("y", "state_T", "gx", "gparams", "gstate0"), emu, cpu):
        if name == "gparams":
            assert torch.allclose(a, b, rtol=1e-13, atol=1e-13 * float(b.abs().max())), name
        else:
            assert torch.equal(a, b), f"{name}: max difference {float((a - b).abs().max()):.3e}"
