"""The ``"reference"`` backend: :func:`python_ref.mtc_scan_ref`, autograd through torch ops.
Available on every device; slow, and it saves O(T) intermediates for backward."""
from __future__ import annotations

from python_ref import mtc_scan_ref

from .base import Backend


class ReferenceBackend(Backend):
    name = "reference"

    def unavailable_reason(self, device):
        return None

    def scan(self, x, params, state0, K):
        # K is meaningless here: autograd keeps every intermediate.
        return mtc_scan_ref(x, params, state0)
