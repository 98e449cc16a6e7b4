"""What a backend is: availability on a device, a default checkpoint interval, and a scan."""
from __future__ import annotations

from typing import Optional, Tuple

import torch

from python_ref import state_dtype_for


class BackendUnavailableError(ValueError):
    """The named backend cannot run here; the message says how to get it."""


class Backend:
    name: str = ""

    def unavailable_reason(self, device: torch.device) -> Optional[str]:
        """``None`` when the backend runs on ``device``, else why not and how to fix it."""
        raise NotImplementedError

    def default_checkpoint_every(self, T: int) -> int:
        return 32

    def scan(self, x: torch.Tensor, params: torch.Tensor, state0: Optional[torch.Tensor], K: int
             ) -> Tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError


class FusedBackend(Backend):
    """A backend with compiled kernels behind the shared custom op ``mtc::scan``.

    Subclasses implement :meth:`forward` and :meth:`backward` on tensors that are already in
    the state dtype (``x`` possibly in a narrower ``native_input_dtypes`` dtype), and say
    which input dtypes their kernels read directly.
    """

    #: Input dtypes the kernels read as they are; others are cast to the state dtype first.
    native_input_dtypes: Tuple[torch.dtype, ...] = (torch.float32, torch.float64)

    def scan(self, x, params, state0, K):
        from ..ops import scan_op  # late import: ops imports the registry

        sdt = state_dtype_for(x.dtype)
        T, B, N = x.shape
        xk = x if x.dtype in self.native_input_dtypes else x.to(sdt)
        p = params.to(sdt)
        s0 = torch.zeros(4, B, N, dtype=sdt, device=x.device) if state0 is None else state0.to(sdt)
        if not (torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in (x, params, state0))):
            K = max(T, 1)  # no backward will run: keep one checkpoint (state0), not ceil(T/K)
        y, state_T = scan_op(xk, p, s0, K, self.name)
        return (y if y.dtype == x.dtype else y.to(x.dtype)), state_T

    # Kernel entry points (called by mtc_kernels.ops; no autograd here). Empty problems
    # (T = 0, B = 0 or N = 0) are answered here, without a kernel (a CUDA launch of zero
    # blocks is an error); subclasses implement _forward/_backward for T, B, N >= 1.
    def forward(self, x, params, state0, K):
        """-> ``(y [T,B,N] in x.dtype, state_T [4,B,N], ckpt [ceil(T/K),4,B,N])``."""
        T, B, N = x.shape
        if T * B * N == 0:
            return x.new_zeros((T, B, N)), state0.clone(), state0.new_zeros((-(-T // K), 4, B, N))
        return self._forward(x, params, state0, K)

    def backward(self, x, params, ckpt, gy, gstate_T, K):
        """``gy``/``gstate_T`` may be None. -> ``(gx in x.dtype, gparams [14,N], gstate0 [4,B,N])``."""
        T, B, N = x.shape
        if T * B * N == 0:
            gstate0 = params.new_zeros((4, B, N)) if gstate_T is None else gstate_T.to(params.dtype).clone()
            return x.new_zeros((T, B, N)), params.new_zeros(params.shape), gstate0
        return self._backward(x, params, ckpt, gy, gstate_T, K)

    def _forward(self, x, params, state0, K):
        raise NotImplementedError

    def _backward(self, x, params, ckpt, gy, gstate_T, K):
        raise NotImplementedError


def neurons_contiguous(t: torch.Tensor) -> torch.Tensor:
    """``t`` itself when its last (neuron) dimension has stride 1, else a contiguous copy."""
    return t if t.stride(-1) == 1 or t.shape[-1] == 1 else t.contiguous()


#: How a backward kernel reads the gradient on ``y``: none arrived (zeros), a row of
#: neurons (stride 1), or one value per (t, b) broadcast over neurons with stride 0.
GY_NONE, GY_ROW, GY_BCAST = 0, 1, 2


def output_grad(gy: Optional[torch.Tensor], dtype: torch.dtype) -> Tuple[Optional[torch.Tensor], int]:
    """``(gy, mode)`` ready for a backward kernel: ``gy`` in ``dtype``; a stride-0 broadcast
    over neurons (what autograd sends back for ``y.sum()``) is kept as it is, without a
    T*B*N copy; other layouts get their neurons contiguous."""
    if gy is None:
        return None, GY_NONE
    gy = gy.to(dtype)
    if gy.shape[-1] > 1 and gy.stride(-1) == 0:
        return gy, GY_BCAST
    return neurons_contiguous(gy), GY_ROW
