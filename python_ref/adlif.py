"""Adaptive LIF (AdLIF) reference, symplectic-Euler order, with surrogate gradients.

After Baronig, Ferrand, Sabathiel & Legenstein 2025 ("Advancing spatio-temporal
processing through adaptation in spiking neural networks", Nat. Commun. 16:5776), their
symplectic-Euler AdLIF (SE-adLIF), threshold ``theta = 1``; per neuron, for
``t = 0 .. T-1``::

    u~[t] = alpha * u[t-1] + (1 - alpha) * (x[t] - w[t-1])      # membrane
    s[t]  = H(u~[t] - theta)                                      # spike (surrogate)
    u[t]  = u~[t] - theta * s[t]                                  # reset by subtraction
    w[t]  = beta * w[t-1] + (1 - beta) * (a * u[t] + b * s[t])    # adaptation from the
                                                                  # new membrane and spike

``alpha, beta`` in (0, 1) are per-neuron decays, ``a`` (sub-threshold coupling) and ``b``
(spike-triggered adaptation) per-neuron couplings. The adaptation reading the *updated*
``u[t]`` and ``s[t]`` is the symplectic-Euler order that makes the discretisation stable
for large ``a`` (Baronig et al., Sec. "SE-adLIF"). State ``(u, w)`` ``[2, B, N]``.
"""
from __future__ import annotations

from typing import Optional, Tuple, Union

import torch

from .surrogate import Surrogate, SpikeFn, get_spike_fn


def adlif_ref(
    x: torch.Tensor,
    alpha: torch.Tensor,
    beta: torch.Tensor,
    a: torch.Tensor,
    b: torch.Tensor,
    state0: Optional[torch.Tensor] = None,
    *,
    theta: float = 1.0,
    surrogate: Union[str, Surrogate, SpikeFn] = "fast_sigmoid",
) -> Tuple[torch.Tensor, torch.Tensor]:
    """AdLIF over a sequence.

    Args:
        x: input currents ``[T, B, N]``.
        alpha, beta: per-neuron decays ``[N]`` in (0, 1) of membrane and adaptation.
        a, b: per-neuron couplings ``[N]``.
        state0: ``[2, B, N]`` rows ``(u, w)``, or ``None`` for zeros.
        theta: firing threshold.
        surrogate: spike function (see :mod:`python_ref.surrogate`).

    Returns:
        ``(spikes [T, B, N], state_T [2, B, N])``.
    """
    spike = get_spike_fn(surrogate)
    T, B, N = x.shape
    if state0 is None:
        state0 = x.new_zeros(2, B, N)
    u, w = state0.unbind(0)
    out = []
    for t in range(T):
        u = alpha * u + (1.0 - alpha) * (x[t] - w)
        s = spike(u - theta)
        u = u - theta * s
        w = beta * w + (1.0 - beta) * (a * u + b * s)
        out.append(s)
    spikes = torch.stack(out, 0) if T else x.new_empty(0, B, N)
    return spikes, torch.stack((u, w), 0)
