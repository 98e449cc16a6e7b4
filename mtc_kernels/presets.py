"""Named MTC parameter sets for the three firing regimes, and their resting states.

Each preset is a full set of the 14 parameters plus the constant inputs that show its
regime: ``rest_input`` (quiescent) and ``step_input`` (the regime). Derived from Ribar &
Sepulchre's bursting neuron (MODEL.md's reference point; tau_m = 1, dt = 1):

* ``"bursting"``: the reference point itself; a step from -2.5 to -2.0 bursts (about seven
  spikes every ~2,500 steps, the ultra-slow element terminating each burst).
* ``"tonic"``: no slow negative and no ultra-slow element (``a_sn = a_us = 0``): the fast
  positive / slow positive pair alone; a step to -0.5 fires regularly (ISI ~ 58 steps).
* ``"phasic"``: tonic plus a strong, faster ultra-slow positive element (``a_us = 2``,
  ``tau_us = 100``): a step to -0.5 fires once at onset, then the adaptation holds the
  membrane at a stable depolarised level for as long as the step lasts.

The activity window is ``v_th = 0`` to ``v_sat = 2`` (spikes peak near +3, rest is below
-1.8), so ``y`` is exactly zero between spikes.
"""
from __future__ import annotations

from typing import Dict, Optional

import torch

from python_ref import PARAM_NAMES, RIBAR_BURSTING

_ACTIVITY = {"v_th": 0.0, "v_sat": 2.0}

PRESETS: Dict[str, dict] = {
    "bursting": {"params": {**RIBAR_BURSTING, **_ACTIVITY}, "rest_input": -2.5, "step_input": -2.0},
    "tonic": {"params": {**RIBAR_BURSTING, "a_sn": 0.0, "a_us": 0.0, **_ACTIVITY},
              "rest_input": -2.5, "step_input": -0.5},
    "phasic": {"params": {**RIBAR_BURSTING, "a_sn": 0.0, "a_us": 2.0, "beta_us": 1.0 / 100.0, **_ACTIVITY},
               "rest_input": -2.5, "step_input": -0.5},
}


def preset_values(name: str) -> Dict[str, float]:
    """The 14 parameter values of preset ``name`` (a copy)."""
    if name not in PRESETS:
        raise ValueError(f"unknown MTC preset {name!r}; expected one of {sorted(PRESETS)}")
    return dict(PRESETS[name]["params"])


def preset_params(name: str, n: int, *, jitter: float = 0.0, generator: Optional[torch.Generator] = None,
                  dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``[14, n]`` params of preset ``name``, optionally heterogeneous.

    ``jitter > 0`` perturbs each neuron independently: amplitudes and offsets ``a_*``,
    ``d_*`` get ``+ jitter * N(0, 1)``; each filter step ``beta`` is multiplied by
    ``exp(jitter * N(0, 1))`` (a log-normal spread of time constants) and capped at 1;
    ``v_th`` and ``v_sat`` are kept.
    """
    vals = preset_values(name)
    out = torch.empty(len(PARAM_NAMES), n, dtype=torch.float64)
    for i, key in enumerate(PARAM_NAMES):
        out[i] = vals[key]
    if jitter > 0:
        noise = torch.randn(len(PARAM_NAMES), n, generator=generator, dtype=torch.float64)
        for i, key in enumerate(PARAM_NAMES):
            if key.startswith(("a_", "d_")):
                out[i] += jitter * noise[i]
            elif key.startswith("beta_"):
                out[i] = (out[i] * torch.exp(jitter * noise[i])).clamp(max=1.0)
    return out.to(dtype)


def rest_state(params: torch.Tensor, rest_input) -> torch.Tensor:
    """The resting state ``[4, N]`` for constant input ``rest_input`` (scalar or ``[N]``).

    At an equilibrium every filter equals the membrane (``v = f = s = u``), so ``v`` solves
    ``v + i_ion(v) = x``; this finds the lowest root on a grid, refined by bisection (64
    halvings, float64). For the presets the root is unique and is the state a long
    simulation at ``rest_input`` settles to.
    """
    p = params.detach().to(torch.float64)
    n = p.shape[1]
    x = torch.as_tensor(rest_input, dtype=torch.float64).expand(n)
    a_f, d_f, a_sp, d_sp, a_sn, d_sn, a_us, d_us = p[:8]

    def g(v):
        i_ion = a_f * torch.tanh(v - d_f) + a_sp * torch.tanh(v - d_sp) + a_sn * torch.tanh(v - d_sn) + a_us * torch.tanh(v - d_us)
        return v + i_ion - x

    span = p[[0, 2, 4, 6]].abs().sum(0) + 1.0
    lo, hi = x - span, x + span  # g(lo) < 0 < g(hi) since |i_ion| < span
    grid = torch.linspace(0, 1, 257, dtype=torch.float64).unsqueeze(1) * (hi - lo) + lo  # [257, n]
    gv = g(grid)
    sign_change = (gv[:-1] <= 0) & (gv[1:] > 0)
    first = sign_change.to(torch.int8).argmax(0)
    cols = torch.arange(n)
    a, b = grid[first, cols].clone(), grid[first + 1, cols].clone()
    for _ in range(64):
        m = 0.5 * (a + b)
        neg = g(m) <= 0
        a = torch.where(neg, m, a)
        b = torch.where(neg, b, m)
    v = 0.5 * (a + b)
    return v.unsqueeze(0).expand(4, n).clone().to(params.dtype)
