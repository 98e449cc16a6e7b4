"""One setup factory per benchmarked op, shared by the speed and the memory measurements.

Ops:

* ``scan``: the neuron scan alone, ``(y, state_T) = scan(x [T, B, N], params, state0)``.
* ``layer``: one end-to-end training step of a layer, ``Linear(F -> N)`` over all ``T*B``
  rows (one GEMM) then the scan, and backward from random output gradients.

Providers (``PROVIDERS``):

* ``eager``: the reference ``python_ref.mtc_scan_ref`` (autograd through plain torch ops);
* ``compiled_step``: the reference's *single step* ``mtc_step_ref`` under ``torch.compile``,
  looped in Python. (Compiling the whole T-step loop would unroll it into a graph of T
  steps -- minutes of compilation, recompiled for every new T -- which is not what users do.)
* ``cpu``, ``triton``, ``cuda``: the fused backends (``mtc_scan(..., backend=name)``);
* ``lif_eager``, ``adlif_eager``: context only, *different neurons* (``python_ref.lif_ref``,
  ``adlif_ref``: surrogate-gradient LIF / AdLIF) at the same sizes;
* ``spikingjelly_lif``: context only, a published multi-step LIF kernel (SpikingJelly's
  ``LIFNode(step_mode="m")``, soft reset, sigmoid surrogate), where it is installed
  (``pip install --no-deps spikingjelly``: its declared dependencies pull a CUDA build of
  torch).

Modes: ``fwd`` (no autograd graph), ``bwd`` (backward only: the forward runs in the untimed
setup), ``full`` (forward then backward).

:func:`make_case` returns a :class:`Case` with ``setup()`` (fresh inputs, untimed) and
``run(*args)`` (the timed call) and ``forward`` (the op itself; in ``full`` mode
``setup()`` returns its inputs followed by the two output gradients), plus the op's minimal traffic and arithmetic
(:func:`bytes_moved`, :func:`flops`) for the fraction-of-bound figures.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Optional

import torch

import mtc_kernels as M
import python_ref as R

FUSED = ("cpu", "triton", "cuda")
MTC_PROVIDERS = ("eager", "compiled_step") + FUSED
CONTEXT = ("lif_eager", "adlif_eager", "spikingjelly_lif")
PROVIDERS = MTC_PROVIDERS + CONTEXT
MODES = ("fwd", "bwd", "full")

# Arithmetic per neuron-step, counted from csrc/mtc_step.h (an FMA counts 2, as in the
# matmul peak; selects and bit operations not counted). Forward: 4 tanh of 22 flops each
# (csrc/cpu/fast_tanh.h: 2|x| 1, range reduction 5, polynomial and expm1(r) 11, 2^n
# scaling 3, e/(e+2) 2) + 29 for the step around them (4 subtractions for the tanh
# arguments, 7 for i_ion, 4 for v', 9 for the filters, 3 for the activity, 2 compares).
# Backward: the forward recomputed from the checkpoint (117) + the adjoint of
# mtc::step_adjoint (95).
FLOPS_PER_TANH = 22
FLOPS_FWD = 4 * FLOPS_PER_TANH + 29
FLOPS_BWD = FLOPS_FWD + 95


def unavailable(provider: str, device: torch.device) -> Optional[str]:
    """None if ``provider`` runs on ``device``, else why not (a skip reason)."""
    if provider in FUSED:
        return M.backends.get(provider).unavailable_reason(device)
    if provider == "spikingjelly_lif":
        try:
            import spikingjelly.activation_based.neuron  # noqa: F401
        except Exception as e:
            return (f"SpikingJelly not importable ({e}); pip install --no-deps spikingjelly "
                    "(its declared dependencies would replace torch with a CUDA build)")
    if provider == "compiled_step" and device.type == "cpu":
        try:
            import torch._inductor  # noqa: F401
        except Exception as e:  # pragma: no cover
            return f"torch.compile unavailable: {e}"
    return None


@dataclass
class Case:
    op: str
    provider: str
    mode: str
    T: int
    B: int
    N: int
    K: int
    dtype: torch.dtype
    device: torch.device
    features: int = 0  # the layer op's Linear fan-in
    setup: Callable[[], tuple] = field(default=None, repr=False)
    run: Callable = field(default=None, repr=False)
    forward: Callable = field(default=None, repr=False)  # the op on its inputs: (y, state_T)
    module: Optional[torch.nn.Module] = field(default=None, repr=False)  # the layer op's layer

    @property
    def neuron_steps(self) -> int:
        return self.T * self.B * self.N

    def shape(self) -> dict:
        d = {"T": self.T, "B": self.B, "N": self.N, "BN": self.B * self.N}
        if self.op == "layer":
            d["F"] = self.features
        return d


def _inputs(T, B, N, dtype, device, seed=0, requires_grad=False):
    """MTC inputs around the bursting preset's excitable range, and output gradients."""
    g = torch.Generator().manual_seed(seed)
    sdt = R.state_dtype_for(dtype)
    x = (torch.randn(T, B, N, generator=g) * 0.7 - 1.6).to(device, dtype)
    p = M.preset_params("bursting", N, jitter=0.1, generator=g).to(device, sdt)
    s0 = M.rest_state(p, -2.5).unsqueeze(1).expand(4, B, N).contiguous()
    gy = torch.randn(T, B, N, generator=g).to(device, dtype)
    gs = torch.randn(4, B, N, generator=g).to(device, sdt)
    if requires_grad:
        x.requires_grad_()
        p.requires_grad_()
        s0.requires_grad_()
    return x, p, s0, gy, gs


def scan_fn(provider: str, K: int, N: int = 0, device="cpu", dtype=torch.float32, grad: bool = False) -> Callable:
    """``f(x, p, s0) -> (y, state_T)`` of ``provider``. The context providers (LIF/AdLIF)
    ignore the MTC params and use their own per-neuron constants (``N`` of them), and see
    ``x + 2.6`` so their input is around their threshold 1 as the MTC input is around the
    bursting preset's firing onset."""
    if provider == "eager":
        return R.mtc_scan_ref
    if provider in FUSED:
        return lambda x, p, s0: M.mtc_scan(x, p, s0, backend=provider, checkpoint_every=K, validate=False)
    if provider == "compiled_step":
        step = torch.compile(R.mtc_step_ref, dynamic=False)

        def looped(x, p, s0):
            st = tuple(s0.unbind(0))
            ys = []
            for t in range(x.shape[0]):
                yt, st = step(x[t], st, p)
                ys.append(yt)
            return torch.stack(ys), torch.stack(st)
        return looped
    if provider == "spikingjelly_lif":
        from spikingjelly.activation_based import neuron, surrogate
        node = neuron.LIFNode(tau=10.0, v_reset=None, detach_reset=False, step_mode="m",
                              surrogate_function=surrogate.Sigmoid()).to(device)

        def sj(x, p, s0):
            node.reset()
            y = node(x + 2.6)
            return y, node.v.unsqueeze(0)  # "state": the final membrane, [1, B, N]
        return sj
    if provider in CONTEXT:
        def const(v):
            return torch.full((N,), v, device=device, dtype=dtype).requires_grad_(grad)
        alpha = const(0.9)
        if provider == "lif_eager":
            return lambda x, p, s0: R.lif_ref(x + 2.6, alpha, s0[:2])
        beta, a, b = const(0.99), const(0.5), const(1.0)
        return lambda x, p, s0: R.adlif_ref(x + 2.6, alpha, beta, a, b, s0[:2])
    raise ValueError(f"unknown provider {provider!r}; expected one of {PROVIDERS}")


def gate_error(provider: str, device) -> float:
    """Largest relative difference between ``provider`` and the reference on a small float64
    case: forward, state_T, and the gradients of x, params and state0 under random output
    gradients (the correctness gate every benchmark runs before timing a fused backend)."""
    device = torch.device(device)
    g = torch.Generator().manual_seed(3)
    T, B, N = 45, 3, 37
    x = (torch.randn(T, B, N, generator=g, dtype=torch.float64) * 0.7 - 1.6).to(device).requires_grad_()
    p = M.preset_params("bursting", N, jitter=0.1, generator=g, dtype=torch.float64).to(device).requires_grad_()
    s0 = (M.rest_state(p, -2.5).unsqueeze(1).expand(4, B, N) + 0.1 * torch.randn(4, B, N, generator=g,
          dtype=torch.float64).to(device)).detach().requires_grad_()
    gy = torch.randn(x.shape, generator=g, dtype=torch.float64).to(device)
    gs = torch.randn(s0.shape, generator=g, dtype=torch.float64).to(device)
    outs = []
    for be in ("reference", provider):
        y, sT = M.mtc_scan(x, p, s0, backend=be, checkpoint_every=7)
        grads = torch.autograd.grad((y * gy).sum() + (sT * gs).sum(), (x, p, s0))
        outs.append((y, sT) + grads)
    return max(float(((a - b).abs().max() / b.abs().max().clamp_min(1e-30)).detach()) for a, b in zip(*outs))


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def make_case(op: str, provider: str, mode: str, *, T: int, B: int, N: int, K: int = 32,
              dtype: torch.dtype = torch.float32, device="cpu", features: int = 64) -> Case:
    """The setup factory: a :class:`Case` whose ``setup()`` builds fresh inputs (and, in
    ``bwd`` mode, runs the forward) and whose ``run(*setup())`` is what is timed."""
    device = torch.device(device)
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; expected one of {MODES}")
    case = Case(op, provider, mode, T, B, N, K, dtype, device, features if op == "layer" else 0)
    grad = mode != "fwd"
    if op == "scan":
        fn = scan_fn(provider, K, N, device, R.state_dtype_for(dtype), grad)

        def forward(x, p, s0):
            return fn(x, p, s0)

        def make_inputs():
            x, p, s0, gy, gs = _inputs(T, B, N, dtype, device, requires_grad=grad)
            return (x, p, s0), (gy, gs)
    elif op == "layer":
        layer = _layer(provider, features, N, K, dtype, device)

        def forward(inp):
            return layer(inp, return_state=True)

        def make_inputs():
            g = torch.Generator().manual_seed(1)
            inp = torch.randn(T, B, features, generator=g).to(device, dtype)
            _, _, _, gy, gs = _inputs(T, B, N, dtype, device)
            layer.zero_grad(set_to_none=True)
            return (inp,), (gy, gs[: _state_rows(provider)])
    else:
        raise ValueError(f"unknown op {op!r}; expected 'scan' or 'layer'")

    if mode == "fwd":
        def setup():
            return make_inputs()[0]

        def run(*args):
            with torch.no_grad():
                out = forward(*args)
            _sync(device)
            return out
    elif mode == "bwd":
        def setup():
            args, (gy, gs) = make_inputs()
            y, sT = forward(*args)
            _sync(device)
            return y, sT, gy, gs[: sT.shape[0]]

        def run(y, sT, gy, gs):
            torch.autograd.backward((y, sT), (gy, gs))
            _sync(device)
    else:
        def setup():
            args, grads = make_inputs()
            return args + grads

        def run(*args):
            *inp, gy, gs = args
            y, sT = forward(*inp)
            torch.autograd.backward((y, sT), (gy, gs[: sT.shape[0]]))
            _sync(device)
    case.setup, case.run, case.forward = setup, run, forward
    if op == "layer":
        case.module = layer
    return case


def _state_rows(provider: str) -> int:
    return 2 if provider in CONTEXT else 4


def _layer(provider: str, F: int, N: int, K: int, dtype, device) -> torch.nn.Module:
    torch.manual_seed(0)
    if provider == "lif_eager":
        layer = M.LIFLayer(F, N)
    elif provider == "adlif_eager":
        layer = M.AdLIFLayer(F, N)
    elif provider in ("compiled_step", "spikingjelly_lif"):
        raise ValueError(f"the layer op has no {provider} provider (MTCLayer's backends are eager or fused; "
                         "the LIF/AdLIF layers are the references)")
    else:
        backend = "reference" if provider == "eager" else provider
        layer = M.MTCLayer(F, N, preset="bursting", jitter=0.1, backend=backend, checkpoint_every=K)
    return layer.to(device=device, dtype=dtype)


def bytes_moved(case: Case) -> int:
    """The least traffic of the op: its inputs read and outputs written once (the scan's
    checkpoints included; the layer's Linear input, weights and pre-activations too)."""
    e = torch.tensor([], dtype=case.dtype).element_size()
    se = torch.tensor([], dtype=R.state_dtype_for(case.dtype)).element_size()
    TBN, BN, N = case.neuron_steps, case.B * case.N, case.N
    ck = 4 * math.ceil(case.T / case.K) * BN * se
    fwd = 2 * TBN * e + 14 * N * se + 2 * 4 * BN * se + ck  # x, y; params; state0, state_T; checkpoints
    bwd = 3 * TBN * e + 14 * N * se + 2 * 4 * BN * se + ck  # x, gy, gx; params, gparams; gstate_T, gstate0
    if case.op == "layer":
        TBF = case.T * case.B * case.features
        fwd += TBF * e + case.features * N * e  # the GEMM's input and weights (its output is x)
        bwd += TBF * e + 2 * case.features * N * e  # input, weight gradient
    return {"fwd": fwd, "bwd": bwd, "full": fwd + bwd}[case.mode]


def flops(case: Case) -> int:
    """Arithmetic of the MTC scan (FLOPS_FWD / FLOPS_BWD per neuron-step), plus the
    layer's GEMMs (2 flops per multiply-add: 1 GEMM forward, 2 backward)."""
    per = {"fwd": FLOPS_FWD, "bwd": FLOPS_BWD, "full": FLOPS_FWD + FLOPS_BWD}[case.mode]
    total = per * case.neuron_steps
    if case.op == "layer":
        gemm = 2 * case.neuron_steps * case.features
        total += {"fwd": gemm, "bwd": 2 * gemm, "full": 3 * gemm}[case.mode]
    return total
