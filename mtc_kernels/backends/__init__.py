"""Backend registry: each backend is one small module that says whether it is available
on a device and how to run the scan.

``"reference"`` runs :func:`python_ref.mtc_scan_ref` (autograd through plain torch ops).
The fused backends (``"cpu"``, ``"triton"``, ``"cuda"``) share one autograd wiring, the
``torch.library`` custom op in :mod:`mtc_kernels.ops`; their modules only say how to call
their kernels.
"""
from __future__ import annotations

from typing import Dict, List

import torch

from .base import Backend, BackendUnavailableError, FusedBackend
from .reference import ReferenceBackend
from .cpu import CPUBackend
from .triton_backend import TritonBackend
from .cuda_backend import CUDABackend

_REGISTRY: Dict[str, Backend] = {}


def register(backend: Backend) -> Backend:
    """Add a backend to the registry (its ``name`` must be new)."""
    if backend.name in _REGISTRY:
        raise ValueError(f"backend {backend.name!r} is already registered")
    _REGISTRY[backend.name] = backend
    return backend


for _b in (ReferenceBackend(), CPUBackend(), TritonBackend(), CUDABackend()):
    register(_b)

#: The order ``"auto"`` tries, per device type: the first available wins.
AUTO_ORDER = {"cpu": ("cpu", "reference"), "cuda": ("cuda", "triton", "reference")}


def names() -> List[str]:
    """All registered backend names."""
    return list(_REGISTRY)


def get(name: str) -> Backend:
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(f"mtc_scan: unknown backend {name!r}; expected 'auto' or one of {names()}")
    return _REGISTRY[name]


def available(device) -> List[str]:
    """Names of the backends that can run on ``device`` (a torch.device or string)."""
    device = torch.device(device)
    return [n for n, b in _REGISTRY.items() if b.unavailable_reason(device) is None]


def resolve(name: str, device: torch.device) -> Backend:
    """The backend to use for ``name`` (``"auto"`` or a registered name) on ``device``.
    Raises ``BackendUnavailableError`` (a ``ValueError``) saying how to get it."""
    if name == "auto":
        for cand in AUTO_ORDER.get(device.type, ("reference",)):
            b = _REGISTRY.get(cand)
            if b is not None and b.unavailable_reason(device) is None:
                return b
        return _REGISTRY["reference"]
    b = get(name)
    reason = b.unavailable_reason(device)
    if reason is not None:
        raise BackendUnavailableError(f"mtc_scan: backend {name!r} is not available for {device.type} tensors: {reason}")
    return b


__all__ = ["Backend", "FusedBackend", "BackendUnavailableError", "register", "names", "get", "available", "resolve"]
