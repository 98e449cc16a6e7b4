"""Surrogate-gradient spike functions for the LIF and AdLIF baselines.

A spike is the Heaviside step ``H(x)`` of the distance to threshold ``x = u - theta``
(``H(0) = 1``). Its true derivative is zero almost everywhere, so surrogate-gradient
training replaces it in backward by the derivative of a smooth *primitive* ``p(x)``:

* ``"fast_sigmoid"`` (SuperSpike, Zenke & Ganguli 2018; SLAYER-style):
  ``p'(x) = 1 / (1 + k|x|)^2`` with ``p(x) = x / (1 + k|x|)``, slope ``k`` (default 10).
* ``"arctan"`` (Fang et al. 2021, SpikingJelly's ``ATan``):
  ``p'(x) = (alpha / 2) / (1 + (pi/2 * alpha * x)^2)`` with
  ``p(x) = arctan(pi/2 * alpha * x) / pi + 1/2``, ``alpha`` default 2.

Each surrogate exposes :meth:`Surrogate.spike` (Heaviside forward, surrogate backward)
and :meth:`Surrogate.primitive` (the smooth function itself): swapping the spike for its
primitive turns a surrogate network into a smooth one whose exact gradients
``torch.autograd.gradcheck`` can verify, which is how the tests check the wiring of the
LIF/AdLIF backward through time.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Union

import torch


class _SurrogateSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, deriv):  # deriv: callable x -> p'(x)
        ctx.save_for_backward(x)
        ctx.deriv = deriv
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * ctx.deriv(x), None


@dataclass(frozen=True)
class Surrogate:
    """A named surrogate: ``derivative`` is ``p'``, ``primitive`` is ``p``."""

    name: str
    derivative: Callable[[torch.Tensor], torch.Tensor]
    primitive: Callable[[torch.Tensor], torch.Tensor]

    def spike(self, x: torch.Tensor) -> torch.Tensor:
        """Heaviside ``H(x)`` forward (``H(0) = 1``), ``p'(x)`` backward."""
        return _SurrogateSpike.apply(x, self.derivative)


def fast_sigmoid(slope: float = 10.0) -> Surrogate:
    """SuperSpike / fast-sigmoid surrogate, derivative ``1 / (1 + slope*|x|)^2``."""
    k = float(slope)
    return Surrogate(
        "fast_sigmoid",
        derivative=lambda x: 1.0 / (1.0 + k * x.abs()) ** 2,
        primitive=lambda x: x / (1.0 + k * x.abs()),
    )


def arctan(alpha: float = 2.0) -> Surrogate:
    """Arctan surrogate, derivative ``(alpha/2) / (1 + (pi/2*alpha*x)^2)``."""
    a = float(alpha)
    c = math.pi / 2.0 * a
    return Surrogate(
        "arctan",
        derivative=lambda x: (a / 2.0) / (1.0 + (c * x) ** 2),
        primitive=lambda x: torch.atan(c * x) / math.pi + 0.5,
    )


SURROGATES = {"fast_sigmoid": fast_sigmoid, "arctan": arctan}

SpikeFn = Callable[[torch.Tensor], torch.Tensor]


def get_spike_fn(surrogate: Union[str, Surrogate, SpikeFn]) -> SpikeFn:
    """Resolve ``"fast_sigmoid"``, ``"arctan"``, a :class:`Surrogate`, or any callable
    ``x -> spikes`` to a spike function."""
    if isinstance(surrogate, Surrogate):
        return surrogate.spike
    if isinstance(surrogate, str):
        if surrogate not in SURROGATES:
            raise ValueError(f"unknown surrogate {surrogate!r}; expected one of {sorted(SURROGATES)}")
        return SURROGATES[surrogate]().spike
    if callable(surrogate):
        return surrogate
    raise TypeError(f"surrogate must be a name, a Surrogate or a callable, got {type(surrogate).__name__}")
