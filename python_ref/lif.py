"""Leaky integrate-and-fire (LIF) reference with surrogate gradients.

The common discrete form (Bittar & Garner 2022, "A surrogate gradient spiking baseline
for speech command recognition", Front. Neurosci. 16:865897, eq. 1-2, with their
reset by subtraction), threshold ``theta = 1``; per neuron, for ``t = 0 .. T-1``::

    u[t] = alpha * u[t-1] + (1 - alpha) * x[t] - theta * s[t-1]     # leak, input, reset
    s[t] = H(u[t] - theta)                                            # surrogate in backward

``alpha = exp(-dt / tau)`` in (0, 1) is a per-neuron decay. The reset term keeps its
gradient (it is not detached). The state carried between windows is ``(u, s)`` of the
last step, shape ``[2, B, N]``.
"""
from __future__ import annotations

from typing import Optional, Tuple, Union

import torch

from .surrogate import Surrogate, SpikeFn, get_spike_fn


def lif_ref(
    x: torch.Tensor,
    alpha: torch.Tensor,
    state0: Optional[torch.Tensor] = None,
    *,
    theta: float = 1.0,
    surrogate: Union[str, Surrogate, SpikeFn] = "fast_sigmoid",
) -> Tuple[torch.Tensor, torch.Tensor]:
    """LIF over a sequence.

    Args:
        x: input currents ``[T, B, N]``.
        alpha: per-neuron decay ``[N]`` in (0, 1).
        state0: ``[2, B, N]`` rows ``(u, s)`` (membrane, last spike), or ``None`` for zeros.
        theta: firing threshold.
        surrogate: spike function (see :mod:`python_ref.surrogate`).

    Returns:
        ``(spikes [T, B, N], state_T [2, B, N])``.
    """
    spike = get_spike_fn(surrogate)
    T, B, N = x.shape
    if state0 is None:
        state0 = x.new_zeros(2, B, N)
    u, s = state0.unbind(0)
    out = []
    for t in range(T):
        u = alpha * u + (1.0 - alpha) * x[t] - theta * s
        s = spike(u - theta)
        out.append(s)
    spikes = torch.stack(out, 0) if T else x.new_empty(0, B, N)
    return spikes, torch.stack((u, s), 0)
