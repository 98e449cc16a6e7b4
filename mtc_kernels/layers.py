"""Drop-in spiking layers: a Linear projection over all time steps at once (one GEMM),
then the neuron dynamics. Input ``[T, B, F]`` (or ``[B, T, F]`` with ``batch_first=True``,
as in ``torch.nn.RNN``); output the activity ``[T, B, N]`` (resp. ``[B, T, N]``).

* :class:`MTCLayer`: MTC neurons through :func:`mtc_kernels.mtc_scan` (fused backends).
* :class:`LIFLayer`, :class:`AdLIFLayer`: the surrogate-gradient baselines of
  :mod:`python_ref` (plain PyTorch loops).
"""
from __future__ import annotations

import math
from typing import Iterable, Optional, Tuple, Union

import torch
from torch import nn

from python_ref import PARAM_NAMES, adlif_ref, lif_ref
from python_ref.surrogate import Surrogate

from . import params as reparam
from .presets import PRESETS, preset_params, rest_state
from .scan import mtc_scan


class _SpikingLayer(nn.Module):
    """Linear projection + a neuron scan; handles ``batch_first`` and the state API."""

    def __init__(self, in_features: int, out_features: int, *, batch_first: bool, bias: bool,
                 device=None, dtype=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.batch_first = batch_first
        self.linear = nn.Linear(in_features, out_features, bias=bias, device=device, dtype=dtype)

    def _check_input(self, inp: torch.Tensor) -> None:
        if inp.dim() != 3 or inp.shape[-1] != self.in_features:
            order = "[B, T, F]" if self.batch_first else "[T, B, F]"
            raise ValueError(f"{type(self).__name__}: input must have shape {order} with F={self.in_features}, "
                             f"got {tuple(inp.shape)}")

    def forward(self, inp: torch.Tensor, state: Optional[torch.Tensor] = None, return_state: bool = False
                ) -> Union[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]:
        """``inp`` ``[T, B, F]`` (``[B, T, F]`` if batch_first); ``state`` the layer's state
        ``[S, B, N]`` or None (its default initial state). Returns the activity, and the final
        state too when ``return_state``."""
        self._check_input(inp)
        if self.batch_first:
            inp = inp.transpose(0, 1)
        x = self.linear(inp)  # one GEMM over all T*B rows
        y, state_T = self._scan(x, state)
        if self.batch_first:
            y = y.transpose(0, 1)
        return (y, state_T) if return_state else y

    def _scan(self, x, state):
        raise NotImplementedError


class MTCLayer(_SpikingLayer):
    """A layer of ``out_features`` MTC neurons driven by a Linear map of the input.

    Args:
        in_features, out_features: sizes of the Linear projection (``N = out_features``).
        preset: ``"bursting"``, ``"tonic"`` or ``"phasic"`` (see :mod:`mtc_kernels.presets`).
        jitter: per-neuron heterogeneity of the preset (0 = identical neurons).
        freeze: names (from :data:`PARAM_NAMES`) kept fixed at their initial value; they are
            buffers, so they get no gradient and keep their exact value (e.g. ``beta_m = 1``).
        batch_first: input/output ``[B, T, F]`` instead of ``[T, B, F]``.
        bias: Linear bias, initialised to the preset's ``rest_input`` so that zero input
            leaves the neurons at rest.
        initial_state: ``"rest"`` (the preset's resting state for ``rest_input``, computed at
            construction) or ``"zeros"``; used when ``forward`` gets ``state=None``.
        backend, checkpoint_every: passed to :func:`mtc_scan`.
        generator: for the jitter.

    Trainable parameters are kept in range by reparameterisation (:mod:`mtc_kernels.params`):
    each beta in (0, 1], ``v_sat > v_th``. :attr:`params` is the ``[14, N]`` tensor the
    kernel sees.
    """

    def __init__(self, in_features: int, out_features: int, *, preset: str = "bursting", jitter: float = 0.0,
                 freeze: Iterable[str] = (), batch_first: bool = False, bias: bool = True,
                 initial_state: str = "rest", backend: str = "auto", checkpoint_every: Optional[int] = None,
                 generator: Optional[torch.Generator] = None, device=None, dtype=None):
        super().__init__(in_features, out_features, batch_first=batch_first, bias=bias, device=device, dtype=dtype)
        freeze = tuple(freeze)
        unknown = sorted(set(freeze) - set(PARAM_NAMES))
        if unknown:
            raise ValueError(f"MTCLayer: unknown parameter name(s) in freeze: {unknown}; expected names from {list(PARAM_NAMES)}")
        if initial_state not in ("rest", "zeros"):
            raise ValueError(f"MTCLayer: initial_state must be 'rest' or 'zeros', got {initial_state!r}")
        if preset not in PRESETS:
            raise ValueError(f"MTCLayer: unknown preset {preset!r}; expected one of {sorted(PRESETS)}")
        self.preset, self.frozen = preset, freeze
        self.backend, self.checkpoint_every = backend, checkpoint_every
        pdtype = torch.float64 if dtype == torch.float64 else torch.float32
        init = preset_params(preset, out_features, jitter=jitter, generator=generator, dtype=pdtype)
        rest_input = PRESETS[preset]["rest_input"]
        if bias:
            with torch.no_grad():
                self.linear.bias.fill_(rest_input)
        self.register_buffer("rest", rest_state(init, rest_input).to(device=device)
                             if initial_state == "rest" else torch.zeros(4, out_features, dtype=pdtype, device=device))
        init = init.to(device)
        v_th = init[PARAM_NAMES.index("v_th")]
        for i, name in enumerate(PARAM_NAMES):
            value = init[i]
            if name in freeze:
                self.register_buffer(name, value.clone())
                continue
            if name.startswith("beta_"):
                raw = reparam.raw_from_beta(value)
            elif name == "v_sat":
                raw = reparam.raw_from_v_sat(value, v_th)
            else:
                raw = value.clone()
            self.register_parameter("raw_" + name, nn.Parameter(raw))

    def param(self, name: str) -> torch.Tensor:
        """The constrained value ``[N]`` of one parameter."""
        if name in self.frozen:
            return getattr(self, name)
        raw = getattr(self, "raw_" + name)
        if name.startswith("beta_"):
            return reparam.beta_from_raw(raw)
        if name == "v_sat":
            return reparam.v_sat_from_raw(raw, self.param("v_th"))
        return raw

    @property
    def params(self) -> torch.Tensor:
        """``[14, N]`` parameters in :data:`PARAM_NAMES` order, as the kernel sees them."""
        return torch.stack([self.param(n) for n in PARAM_NAMES], 0)

    def initial_state(self, batch: int) -> torch.Tensor:
        """The default initial state ``[4, batch, N]``."""
        return self.rest.unsqueeze(1).expand(4, batch, self.out_features)

    def _scan(self, x, state):
        if state is None:
            state = self.initial_state(x.shape[1])
        # validate=False: the reparameterisation already guarantees the value ranges.
        return mtc_scan(x, self.params, state, backend=self.backend, checkpoint_every=self.checkpoint_every,
                        validate=False)

    def extra_repr(self):
        return (f"{self.in_features}, {self.out_features}, preset={self.preset!r}, frozen={list(self.frozen)}, "
                f"batch_first={self.batch_first}, backend={self.backend!r}")


def _decay_raw(tau_lo: float, tau_hi: float, n: int, generator) -> torch.Tensor:
    """raw such that sigmoid(raw) = exp(-1/tau), tau ~ U[tau_lo, tau_hi]."""
    tau = tau_lo + (tau_hi - tau_lo) * torch.rand(n, generator=generator, dtype=torch.float64)
    return torch.logit(torch.exp(-1.0 / tau)).float()


class LIFLayer(_SpikingLayer):
    """LIF neurons (:func:`python_ref.lif_ref`, reset by subtraction, threshold 1) behind a
    Linear projection. Decays ``alpha = sigmoid(raw)`` in (0, 1), initialised from membrane
    time constants uniform in ``tau_mem`` (steps). State ``[2, B, N]`` = ``(u, s)``."""

    def __init__(self, in_features: int, out_features: int, *, tau_mem: Tuple[float, float] = (5.0, 25.0),
                 surrogate: Union[str, Surrogate] = "fast_sigmoid", batch_first: bool = False, bias: bool = True,
                 generator: Optional[torch.Generator] = None, device=None, dtype=None):
        super().__init__(in_features, out_features, batch_first=batch_first, bias=bias, device=device, dtype=dtype)
        self.surrogate = surrogate
        self.raw_alpha = nn.Parameter(_decay_raw(*tau_mem, out_features, generator).to(device=device, dtype=dtype))

    @property
    def alpha(self) -> torch.Tensor:
        return torch.sigmoid(self.raw_alpha)

    def _scan(self, x, state):
        return lif_ref(x, self.alpha.to(x.dtype), state, surrogate=self.surrogate)


class AdLIFLayer(_SpikingLayer):
    """Symplectic-Euler AdLIF neurons (:func:`python_ref.adlif_ref`) behind a Linear
    projection. ``alpha, beta = sigmoid(raw)`` from time constants uniform in ``tau_mem`` and
    ``tau_adapt``; couplings ``a ~ U(a_init)``, ``b ~ U(b_init)`` (Baronig et al. 2025's
    ranges), unconstrained. State ``[2, B, N]`` = ``(u, w)``."""

    def __init__(self, in_features: int, out_features: int, *, tau_mem: Tuple[float, float] = (5.0, 25.0),
                 tau_adapt: Tuple[float, float] = (60.0, 300.0), a_init: Tuple[float, float] = (0.0, 1.0),
                 b_init: Tuple[float, float] = (0.0, 2.0), surrogate: Union[str, Surrogate] = "fast_sigmoid",
                 batch_first: bool = False, bias: bool = True, generator: Optional[torch.Generator] = None,
                 device=None, dtype=None):
        super().__init__(in_features, out_features, batch_first=batch_first, bias=bias, device=device, dtype=dtype)
        self.surrogate = surrogate
        n = out_features
        kw = dict(device=device, dtype=dtype)
        self.raw_alpha = nn.Parameter(_decay_raw(*tau_mem, n, generator).to(**kw))
        self.raw_beta = nn.Parameter(_decay_raw(*tau_adapt, n, generator).to(**kw))
        self.a = nn.Parameter((a_init[0] + (a_init[1] - a_init[0]) * torch.rand(n, generator=generator)).to(**kw))
        self.b = nn.Parameter((b_init[0] + (b_init[1] - b_init[0]) * torch.rand(n, generator=generator)).to(**kw))

    def _scan(self, x, state):
        alpha, beta = torch.sigmoid(self.raw_alpha).to(x.dtype), torch.sigmoid(self.raw_beta).to(x.dtype)
        return adlif_ref(x, alpha, beta, self.a.to(x.dtype), self.b.to(x.dtype), state, surrogate=self.surrogate)
