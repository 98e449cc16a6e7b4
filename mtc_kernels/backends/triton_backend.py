"""The ``"triton"`` backend: the Triton kernels of :mod:`mtc_kernels.triton` on CUDA tensors
(and, for testing, on CPU tensors under ``TRITON_INTERPRET=1``).

Inputs float16/bfloat16/float32/float64 are read as they are (cast to the state dtype inside
the kernel); ``y`` comes back in ``x``'s dtype.
"""
from __future__ import annotations

import os

import torch

from .base import FusedBackend

_INSTALL = "install Triton (`pip install triton`, >= 3.6; or `pip install -e '.[triton]'`)"


def _kernels():
    """The kernel module, or the reason it cannot be imported."""
    try:
        from .. import triton as kernels
    except ImportError as e:
        return None, f"Triton is not importable ({e}); {_INSTALL}"
    return kernels, None


def _interpreter_problem():
    """Triton 3.6's interpreter breaks on numpy >= 2.4 (a runtime loop bound becomes a 1-element
    array that numpy no longer turns into an int); 3.7+ is fine."""
    try:
        import numpy
        import triton
    except ImportError as e:
        return f"the Triton interpreter needs numpy and triton ({e})"
    tv = tuple(int(p) for p in triton.__version__.split(".")[:2])
    nv = tuple(int(p) for p in numpy.__version__.split(".")[:2])
    if tv < (3, 7) and nv >= (2, 4):
        return (f"Triton {triton.__version__}'s interpreter fails with numpy {numpy.__version__}; "
                "use numpy<2.4 or triton>=3.7 to run it on the CPU")
    return None


class TritonBackend(FusedBackend):
    name = "triton"
    native_input_dtypes = (torch.float16, torch.bfloat16, torch.float32, torch.float64)

    def unavailable_reason(self, device):
        interpret = os.environ.get("TRITON_INTERPRET", "0") == "1"
        if device.type == "cpu":
            if not interpret:
                return ("it runs on CUDA tensors (set TRITON_INTERPRET=1 before importing mtc_kernels "
                        "to run its kernels on CPU tensors through Triton's slow interpreter, for testing)")
            problem = _interpreter_problem()
            if problem:
                return problem
        elif device.type != "cuda":
            return f"it runs on CUDA tensors, not {device.type}"
        elif not torch.cuda.is_available():
            return "this torch build has no CUDA"
        kernels, why = _kernels()
        if kernels is None:
            return why
        if device.type == "cpu" and not kernels.INTERPRET:
            return "TRITON_INTERPRET=1 was set after mtc_kernels.triton was imported; set it before"
        return None

    def _forward(self, x, params, state0, K):
        return _kernels()[0].forward(x, params, state0, K)

    def _backward(self, x, params, ckpt, gy, gstate_T, K):
        return _kernels()[0].backward(x, params, ckpt, gy, gstate_T, K)
