"""The MTC neuron written as plain PyTorch: the executable form of ``shared/MODEL.md``.

This module is the oracle every fused backend is tested against. It uses only tensor
operations and torch autograd, so its gradients are, by construction, the exact gradients
of the discrete-time model. It imports nothing from ``mtc_kernels``.

Per neuron the state is ``(v, f, s, u)``; for each step ``t`` with input ``x[t]``::

    i_ion = a_f  * tanh(f - d_f)  + a_sp * tanh(s - d_sp)
          + a_sn * tanh(s - d_sn) + a_us * tanh(u - d_us)
    v' = v + beta_m  * (x[t] - v - i_ion)
    f' = f + beta_f  * (v' - f)
    s' = s + beta_s  * (v' - s)
    u' = u + beta_us * (v' - u)
    y[t] = clamp((v' - v_th) / (v_sat - v_th), 0, 1)
"""
from __future__ import annotations

from typing import Mapping, Optional, Sequence, Tuple, Union

import torch

#: The fourteen per-neuron parameter rows of ``params`` (shape ``[14, N]``), in order.
PARAM_NAMES: Tuple[str, ...] = (
    "a_f", "d_f",
    "a_sp", "d_sp",
    "a_sn", "d_sn",
    "a_us", "d_us",
    "beta_m", "beta_f", "beta_s", "beta_us",
    "v_th", "v_sat",
)
#: Row index of each parameter name.
PARAM_INDEX: Mapping[str, int] = {name: i for i, name in enumerate(PARAM_NAMES)}
NUM_PARAMS = len(PARAM_NAMES)
#: Rows that are filter steps ``dt / tau`` and must lie in (0, 1].
BETA_NAMES: Tuple[str, ...] = ("beta_m", "beta_f", "beta_s", "beta_us")
#: Names of the four state rows of ``state0`` / ``state_T`` (shape ``[4, B, N]``).
STATE_NAMES: Tuple[str, ...] = ("v", "f", "s", "u")

#: Ribar & Sepulchre's bursting neuron (tau_m = 1, tau_s = 50, tau_us = 2500, dt = 1),
#: the reference point of MODEL.md, with an activity window around the spike peak.
RIBAR_BURSTING: Mapping[str, float] = {
    "a_f": -2.0, "d_f": 0.0,
    "a_sp": 2.0, "d_sp": 0.0,
    "a_sn": -1.5, "d_sn": -1.5,
    "a_us": 1.5, "d_us": -1.5,
    "beta_m": 1.0, "beta_f": 1.0, "beta_s": 1.0 / 50.0, "beta_us": 1.0 / 2500.0,
    "v_th": 0.0, "v_sat": 1.0,
}

Number = Union[float, int]


def state_dtype_for(dtype: torch.dtype) -> torch.dtype:
    """The dtype of state and accumulation for inputs of ``dtype`` (MODEL.md):
    float64 stays float64, every other floating dtype computes in float32."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def make_params(
    n: int,
    values: Optional[Mapping[str, Union[Number, Sequence[float], torch.Tensor]]] = None,
    *,
    dtype: torch.dtype = torch.float32,
    device: Union[str, torch.device, None] = None,
    **kwargs: Union[Number, Sequence[float], torch.Tensor],
) -> torch.Tensor:
    """Build a ``[14, n]`` params tensor from named values.

    Each value is a scalar (broadcast to all ``n`` neurons) or a length-``n`` sequence.
    Names missing from ``values``/``kwargs`` take the Ribar bursting reference point
    (:data:`RIBAR_BURSTING`). Unknown names raise ``ValueError``.

    Example: ``make_params(8, beta_s=0.05, v_th=0.5)``.
    """
    given = dict(values or {})
    given.update(kwargs)
    unknown = sorted(set(given) - set(PARAM_NAMES))
    if unknown:
        raise ValueError(f"make_params: unknown parameter name(s) {unknown}; expected names from {list(PARAM_NAMES)}")
    out = torch.empty(NUM_PARAMS, n, dtype=dtype, device=device)
    for i, name in enumerate(PARAM_NAMES):
        val = given.get(name, RIBAR_BURSTING[name])
        row = torch.as_tensor(val, dtype=dtype, device=out.device)
        if row.dim() == 0:
            out[i].fill_(row)
        elif row.shape == (n,):
            out[i].copy_(row)
        else:
            raise ValueError(f"make_params: '{name}' must be a scalar or have shape ({n},), got {tuple(row.shape)}")
    return out


def params_to_dict(params: torch.Tensor) -> dict:
    """Split a ``[14, N]`` params tensor into a ``{name: [N] tensor}`` dict (views)."""
    return {name: params[i] for i, name in enumerate(PARAM_NAMES)}


def mtc_step_ref(
    x_t: torch.Tensor, state: Tuple[torch.Tensor, ...], params: torch.Tensor
) -> Tuple[torch.Tensor, Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]:
    """One MTC step. ``x_t``: ``[B, N]``; ``state``: four ``[B, N]`` tensors ``(v, f, s, u)``;
    ``params``: ``[14, N]``. Returns ``(y_t, (v', f', s', u'))``, all ``[B, N]``."""
    (a_f, d_f, a_sp, d_sp, a_sn, d_sn, a_us, d_us,
     beta_m, beta_f, beta_s, beta_us, v_th, v_sat) = params.unbind(0)
    v, f, s, u = state
    i_ion = (a_f * torch.tanh(f - d_f) + a_sp * torch.tanh(s - d_sp)
             + a_sn * torch.tanh(s - d_sn) + a_us * torch.tanh(u - d_us))
    v_new = v + beta_m * (x_t - v - i_ion)
    f_new = f + beta_f * (v_new - f)
    s_new = s + beta_s * (v_new - s)
    u_new = u + beta_us * (v_new - u)
    y_t = torch.clamp((v_new - v_th) / (v_sat - v_th), 0.0, 1.0)
    return y_t, (v_new, f_new, s_new, u_new)


def mtc_scan_ref(
    x: torch.Tensor, params: torch.Tensor, state0: Optional[torch.Tensor] = None
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Run the MTC neuron over a sequence (the reference, differentiable by autograd).

    Args:
        x: input currents ``[T, B, N]`` (time-major), any floating dtype, any strides.
        params: ``[14, N]``, rows in :data:`PARAM_NAMES` order.
        state0: ``[4, B, N]`` initial ``(v, f, s, u)``, or ``None`` for zeros.

    Returns:
        ``(y, state_T)``: activity ``y`` ``[T, B, N]`` in ``x``'s dtype, and the state after
        the last step ``[4, B, N]`` in the state dtype (float64 for float64 ``x``, else
        float32). For ``T == 0``, ``y`` is empty and ``state_T`` equals ``state0``.

    This function does no input validation beyond what torch does; ``mtc_kernels.mtc_scan``
    validates before dispatching here.
    """
    T, B, N = x.shape
    sdt = state_dtype_for(x.dtype)
    p = params.to(sdt)
    if state0 is None:
        state0 = torch.zeros(4, B, N, dtype=sdt, device=x.device)
    st = tuple(state0.to(sdt).unbind(0))
    xs = x.to(sdt)
    ys = []
    for t in range(T):
        y_t, st = mtc_step_ref(xs[t], st, p)
        ys.append(y_t)
    if T == 0:
        y = x.new_empty((0, B, N))
    else:
        y = torch.stack(ys, 0).to(x.dtype)
    return y, torch.stack(st, 0)
