"""Triton backend kernels: ``step.py`` (the step and its adjoint, mirroring csrc/mtc_step.h),
``scan.py`` (the forward and backward kernels), ``launch.py`` (autotuning and launches).

Importing this package needs ``triton``; :mod:`mtc_kernels.backends.triton_backend` imports
it lazily and says how to install it when it is missing.
"""
from .launch import INTERPRET, backward, forward

__all__ = ["INTERPRET", "forward", "backward"]
