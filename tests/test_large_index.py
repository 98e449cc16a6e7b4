"""64-bit index arithmetic: inputs whose element offsets pass 2^31.

The input lives in a sparse memory-mapped file of 2^31 + 2^21 float32 numbers (8 GiB of
address space, a few pages of disk and memory actually touched), viewed with a time stride
of 2^30 + 7 elements, so the kernel's offsets of the second and third steps exceed the
int32 range. A 32-bit offset would wrap around and read other numbers (or crash); the
results must equal those of the same values in a small contiguous tensor, bitwise. Run
on the CPU kernel and on the CUDA kernels' host emulation (tests/cuda_emulation.py).
"""
import os

import pytest
import torch

import mtc_kernels as M
from conftest import FUSED_ON_CPU

# Not the Triton interpreter: its offsets are numpy's int64 whatever the kernel's types, so
# it would not test the kernel's index arithmetic (tests/test_triton_lowering.py checks that
# the offsets are int64 in the compiled kernels).
BACKENDS = [b for b in ("cpu", "cuda-emu") if b in FUSED_ON_CPU]

STRIDE_T = 2 ** 30 + 7


@pytest.fixture
def far_apart_x(tmp_path):
    n = 2 ** 31 + 2 ** 21
    try:
        storage = torch.from_file(str(tmp_path / "sparse.bin"), shared=True, size=n, dtype=torch.float32)
    except (RuntimeError, OSError) as e:  # pragma: no cover - a filesystem without sparse files
        pytest.skip(f"cannot map an 8 GiB sparse file here: {e}")
    T, B, N = 3, 2, 5
    x = storage.as_strided((T, B, N), (STRIDE_T, N, 1))
    g = torch.Generator().manual_seed(0)
    vals = torch.randn(T, B, N, generator=g) * 0.7 - 1.6
    x.copy_(vals)
    assert x.storage_offset() + (T - 1) * STRIDE_T > 2 ** 31
    yield x, vals
    del x, storage
    os.remove(tmp_path / "sparse.bin")


@pytest.mark.parametrize("backend", BACKENDS or [pytest.param(None, marks=pytest.mark.skip(reason="no compiled CPU backend built"))])
def test_offsets_beyond_int32(far_apart_x, backend):
    x, vals = far_apart_x
    p = M.preset_params("bursting", 5, jitter=0.1, generator=torch.Generator().manual_seed(1))
    y_far, s_far = M.mtc_scan(x, p, backend=backend)
    y_near, s_near = M.mtc_scan(vals, p, backend=backend)
    assert torch.equal(y_far, y_near) and torch.equal(s_far, s_near)
    # backward reads x again, through the same strides
    xf = x.detach().requires_grad_()
    xn = vals.clone().requires_grad_()
    gy = torch.randn(3, 2, 5, generator=torch.Generator().manual_seed(2))
    for xx in (xf, xn):
        y, sT = M.mtc_scan(xx, p, backend=backend, checkpoint_every=2)
        torch.autograd.backward((y, sT), (gy, torch.ones_like(sT)))
    assert torch.equal(xf.grad, xn.grad)
