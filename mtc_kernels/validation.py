"""Input checks shared by every backend (MODEL.md, "Bad input").

Shape, dtype and device checks always run; the checks that read values (each ``beta`` in
(0, 1], ``v_sat > v_th``) run when ``validate=True`` and cost a device synchronisation on a
GPU. Every failure is a ``TypeError`` (wrong kind of object or dtype) or a ``ValueError``
(wrong shape, device or value) whose message names the argument, what was expected and
what was given.
"""
from __future__ import annotations

from typing import Optional

import torch

from python_ref import BETA_NAMES, NUM_PARAMS, PARAM_INDEX

_FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def _check_tensor(name: str, t, rank: int, layout: str) -> None:
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"mtc_scan: '{name}' must be a torch.Tensor of shape {layout}, got {type(t).__name__}")
    if t.dtype not in _FLOAT_DTYPES:
        raise TypeError(
            f"mtc_scan: '{name}' must have a floating dtype (float16, bfloat16, float32 or float64), got {t.dtype}"
        )
    if t.dim() != rank:
        raise ValueError(f"mtc_scan: '{name}' must have shape {layout} ({rank} dims), got shape {tuple(t.shape)}")


def check_inputs(x, params, state0: Optional[torch.Tensor] = None, *, check_values: bool = True) -> None:
    """Validate ``mtc_scan``'s tensors. Raises ``TypeError`` / ``ValueError``; returns None."""
    _check_tensor("x", x, 3, "[T, B, N]")
    T, B, N = x.shape
    _check_tensor("params", params, 2, "[14, N]")
    if tuple(params.shape) != (NUM_PARAMS, N):
        raise ValueError(
            f"mtc_scan: 'params' must have shape [14, N] = [{NUM_PARAMS}, {N}] (N from x's last dim), "
            f"got {tuple(params.shape)}"
        )
    if params.device != x.device:
        raise ValueError(f"mtc_scan: 'params' is on {params.device} but 'x' is on {x.device}; move them to one device")
    if state0 is not None:
        _check_tensor("state0", state0, 3, "[4, B, N]")
        if tuple(state0.shape) != (4, B, N):
            raise ValueError(
                f"mtc_scan: 'state0' must have shape [4, B, N] = [4, {B}, {N}] (B, N from x), got {tuple(state0.shape)}"
            )
        if state0.device != x.device:
            raise ValueError(f"mtc_scan: 'state0' is on {state0.device} but 'x' is on {x.device}; move them to one device")
    if check_values:
        check_param_values(params)


def check_param_values(params: torch.Tensor) -> None:
    """Each beta in (0, 1] and v_sat > v_th, for every neuron (NaN fails both)."""
    with torch.no_grad():
        p = params.detach()
        for name in BETA_NAMES:
            row = p[PARAM_INDEX[name]]
            bad = ~((row > 0) & (row <= 1))
            if bool(bad.any()):
                i = int(bad.nonzero()[0, 0])
                raise ValueError(
                    f"mtc_scan: params['{name}'] must lie in (0, 1] for every neuron; "
                    f"neuron {i} has {float(row[i])!r} ({int(bad.sum())} neuron(s) out of range)"
                )
        v_th, v_sat = p[PARAM_INDEX["v_th"]], p[PARAM_INDEX["v_sat"]]
        bad = ~(v_sat > v_th)
        if bool(bad.any()):
            i = int(bad.nonzero()[0, 0])
            raise ValueError(
                f"mtc_scan: params['v_sat'] must be greater than params['v_th'] for every neuron; "
                f"neuron {i} has v_th={float(v_th[i])!r}, v_sat={float(v_sat[i])!r}"
            )


def check_checkpoint_every(k) -> Optional[int]:
    """``None`` or a positive int."""
    if k is None:
        return None
    if isinstance(k, bool) or not isinstance(k, int):
        raise TypeError(f"mtc_scan: 'checkpoint_every' must be a positive int or None, got {type(k).__name__} {k!r}")
    if k < 1:
        raise ValueError(f"mtc_scan: 'checkpoint_every' must be a positive int or None, got {k}")
    return k
