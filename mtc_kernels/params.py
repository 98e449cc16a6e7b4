"""Reparameterisations that keep trainable neuron parameters in range without clamping.

* ``beta`` in (0, 1]:  ``beta = eps + (1 - eps) * sigmoid(raw)``, ``eps = 1e-6`` (time constants
  up to 10^6 steps); the gradient never vanishes abruptly, and the multiplicative form
  ``d beta / d raw ~ beta`` learns time constants on a log scale.
* ``v_sat > v_th``:    ``v_sat = v_th + w_min + softplus(raw)``, with the minimum width
  ``w_min = 1e-3 * (1 + |v_th|)`` (relative, so ``v_sat`` stays representably above ``v_th``
  in float32 however large ``v_th`` gets).
* everything else: unconstrained.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

BETA_EPS = 1e-6


def beta_from_raw(raw: torch.Tensor) -> torch.Tensor:
    return BETA_EPS + (1.0 - BETA_EPS) * torch.sigmoid(raw)


def raw_from_beta(beta: torch.Tensor) -> torch.Tensor:
    b = beta.detach().to(torch.float64)
    q = ((b - BETA_EPS) / (1.0 - BETA_EPS)).clamp(1e-12, 1.0 - 1e-7)
    return torch.logit(q).to(beta.dtype)


def min_width(v_th: torch.Tensor) -> torch.Tensor:
    return 1e-3 * (1.0 + v_th.detach().abs())


def v_sat_from_raw(raw: torch.Tensor, v_th: torch.Tensor) -> torch.Tensor:
    return v_th + min_width(v_th) + F.softplus(raw)


def raw_from_v_sat(v_sat: torch.Tensor, v_th: torch.Tensor) -> torch.Tensor:
    w = (v_sat - v_th - min_width(v_th)).detach().to(torch.float64).clamp(min=1e-12)
    return (w + torch.log(-torch.expm1(-w))).to(v_sat.dtype)  # softplus^-1(w)
