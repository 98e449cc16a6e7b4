"""``mtc_scan``: validation, the backend choice and the checkpoint interval, in one place
for every backend (MODEL.md, "The kernel-level function")."""
from __future__ import annotations

from typing import Optional, Tuple

import torch

from . import backends
from .validation import check_checkpoint_every, check_inputs


def mtc_scan(
    x: torch.Tensor,
    params: torch.Tensor,
    state0: Optional[torch.Tensor] = None,
    *,
    backend: str = "auto",
    checkpoint_every: Optional[int] = None,
    validate: bool = True,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Run MTC neurons over a sequence; differentiable in ``x``, ``params`` and ``state0``.

    Args:
        x: input currents ``[T, B, N]`` (time-major), float16/bfloat16/float32/float64, any strides.
        params: ``[14, N]``, rows in :data:`mtc_kernels.PARAM_NAMES` order.
        state0: ``[4, B, N]`` initial ``(v, f, s, u)``; ``None`` means zeros.
        backend: ``"auto"`` (fastest available for the device), ``"reference"``, ``"cpu"``, ...
            (see :func:`mtc_kernels.available_backends`).
        checkpoint_every: ``K``: fused backends save the state every K steps and recompute
            the steps between in backward (memory ``~ 4*T*B*N/K`` numbers); ``None`` lets the
            backend choose. Results do not depend on K.
        validate: also check the values (each beta in (0, 1], ``v_sat > v_th``), which costs
            a device synchronisation on a GPU. Shape, dtype and device checks always run.

    Returns:
        ``(y, state_T)``: ``y`` ``[T, B, N]`` in ``x``'s dtype; ``state_T`` ``[4, B, N]`` in the
        state dtype (float64 for float64 ``x``, float32 otherwise).

    Raises:
        TypeError / ValueError: bad input (MODEL.md "Bad input"); ``BackendUnavailableError``
        (a ``ValueError``) when the named backend cannot run on ``x``'s device.
    """
    check_inputs(x, params, state0, check_values=validate)
    k = check_checkpoint_every(checkpoint_every)
    be = backends.resolve(backend, x.device)
    if k is None:
        k = be.default_checkpoint_every(x.shape[0])
    return be.scan(x, params, state0, k)
