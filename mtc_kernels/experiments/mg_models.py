"""The three networks of the Mackey-Glass experiment, built the same way, and their
activity statistics.

``MGNet(model)``: the normalised series ``[T, B, 1]`` -> ``layers`` spiking layers of
``hidden`` neurons (each an :class:`MTCLayer`, :class:`LIFLayer` or :class:`AdLIFLayer`;
the layer's own Linear is the input encoding, a current injection ``w * x + b``) -> a
linear readout of the last layer's activity -> a causal first-order low-pass filter
(time constant ``readout_tau`` steps, applied as a normalised exponential kernel truncated
at ``8 * readout_tau`` steps) -> the prediction ``[T, B]``.

``mtc_v_th`` moves the MTC activity window's start (``v_th``, default the preset's 0; the
window keeps its width 2, up to the 1e-3 * (1 + |v_th|) minimum of the reparameterisation) -- higher values make ``y`` nonzero only near spike peaks.

Initialisation puts every model's neurons in its own excitable range, so that the input
moves them across threshold: MTC biases around the tonic preset's firing onset (about
-1; rest is -2.5), LIF/AdLIF biases around their threshold 1. Encoder weights are
``N(0, input_scale^2)`` for all three.
"""
from __future__ import annotations

import math
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from ..layers import AdLIFLayer, LIFLayer, MTCLayer

MODELS = ("mtc", "lif", "adlif")

# Bias ranges (uniform) that put each model's neurons near firing onset.
_BIAS = {"mtc": (-1.6, -0.4), "lif": (0.5, 1.5), "adlif": (0.5, 1.5)}


def make_layer(model: str, fan_in: int, hidden: int, *, backend: str, preset: str, jitter: float,
               generator: torch.Generator, checkpoint_every: Optional[int] = None) -> nn.Module:
    if model == "mtc":
        return MTCLayer(fan_in, hidden, preset=preset, jitter=jitter, freeze=("beta_m", "beta_f"),
                        backend=backend, checkpoint_every=checkpoint_every, generator=generator)
    if model == "lif":
        return LIFLayer(fan_in, hidden, generator=generator)
    if model == "adlif":
        return AdLIFLayer(fan_in, hidden, generator=generator)
    raise ValueError(f"unknown model {model!r}; expected one of {MODELS}")


class MGNet(nn.Module):
    """A feedforward spiking regressor (see the module docstring). ``forward(u)`` takes
    ``u`` ``[T, B, 1]`` and returns ``(prediction [T, B], activities)`` where
    ``activities`` is the list of each layer's activity ``[T, B, hidden]``."""

    def __init__(self, model: str, *, hidden: int = 128, layers: int = 1, input_scale: float = 1.0,
                 readout_tau: float = 5.0, preset: str = "tonic", jitter: float = 0.2, backend: str = "auto",
                 checkpoint_every: Optional[int] = None, seed: int = 0, mtc_v_th: Optional[float] = None):
        super().__init__()
        if model not in MODELS:
            raise ValueError(f"unknown model {model!r}; expected one of {MODELS}")
        if layers < 1 or hidden < 1:
            raise ValueError("MGNet: need layers >= 1 and hidden >= 1")
        self.model, self.hidden_size, self.num_layers = model, hidden, layers
        g = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)  # nn.Linear's default init
        self.layers = nn.ModuleList()
        for i in range(layers):
            fan_in = 1 if i == 0 else hidden
            layer = make_layer(model, fan_in, hidden, backend=backend, preset=preset, jitter=jitter,
                               generator=g, checkpoint_every=checkpoint_every)
            lo, hi = _BIAS[model]
            with torch.no_grad():
                w = torch.randn(layer.linear.weight.shape, generator=g) * input_scale / math.sqrt(fan_in)
                layer.linear.weight.copy_(w)
                layer.linear.bias.copy_(lo + (hi - lo) * torch.rand(hidden, generator=g))
                if model == "mtc" and mtc_v_th is not None:
                    # Move the activity window [v_th, v_sat] up (its width, v_sat - v_th, is kept:
                    # v_sat is parameterised relative to v_th); spikes peak near +3.
                    layer.raw_v_th.fill_(mtc_v_th)
            self.layers.append(layer)
        self.readout = nn.Linear(hidden, 1)
        with torch.no_grad():
            self.readout.weight.zero_()
            self.readout.bias.zero_()
        a = math.exp(-1.0 / readout_tau)
        length = max(1, int(math.ceil(8 * readout_tau)))
        kernel = (1 - a) * a ** torch.arange(length, dtype=torch.float64)
        self.register_buffer("lowpass", (kernel / kernel.sum()).flip(0).float().view(1, 1, -1))

    def fanouts(self) -> List[int]:
        """Fan-out of each layer's neurons: the next layer's width, or 1 (the readout)."""
        return [self.hidden_size] * (self.num_layers - 1) + [1]

    def forward(self, u: torch.Tensor) -> Tuple[torch.Tensor, List[torch.Tensor]]:
        acts = []
        h = u
        for layer in self.layers:
            h = layer(h)
            acts.append(h)
        r = self.readout(h).squeeze(-1)  # [T, B]
        # Causal low-pass along time: conv1d over [B, 1, T] with left padding.
        k = self.lowpass.shape[-1]
        z = F.conv1d(F.pad(r.t().unsqueeze(1), (k - 1, 0)), self.lowpass.to(r.dtype)).squeeze(1).t()
        return z, acts


def activity_stats(acts: List[torch.Tensor], fanouts: List[int]) -> dict:
    """Sparsity figures over all neurons, steps and batch elements.

    * ``activity_sparsity``: fraction of activations exactly zero;
    * ``mean_activity``: mean activation (spike probability per step for LIF/AdLIF);
    * ``synops_per_step``: nonzero activations times their fan-out, per time step and
      sequence (the synaptic events an event-driven implementation would process).
    """
    total = sum(a.numel() for a in acts)
    zeros = sum(int((a == 0).sum()) for a in acts)
    mean = sum(float(a.double().sum()) for a in acts) / total
    steps = acts[0].shape[0] * acts[0].shape[1]
    synops = sum(int((a != 0).sum()) * fo for a, fo in zip(acts, fanouts)) / steps
    return {"activity_sparsity": zeros / total, "mean_activity": mean, "synops_per_step": synops}
