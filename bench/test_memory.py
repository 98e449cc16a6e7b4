"""Memory of the scan and the layer step, from the same setup factory as the speed tests:

* bytes saved for backward (``torch.autograd.graph.saved_tensors_hooks`` around the
  forward; the op's own inputs and the layer's parameters, which autograd holds anyway,
  are not counted), per neuron-step;
* the peak resident set of a fresh subprocess running one forward+backward
  (``bench/memory_probe.py``), and on CUDA the peak of ``torch.cuda.max_memory_allocated``.
"""
import json
import os
import subprocess
import sys

import pytest
import torch

from setups import FUSED
from sizes import CPU, sizes
from timing import build

HERE = os.path.dirname(__file__)


def saved_bytes(case) -> int:
    args = case.setup()
    inputs = args[:-2]
    owned = {t.data_ptr() for t in inputs if isinstance(t, torch.Tensor)}
    if case.module is not None:
        owned |= {p.data_ptr() for p in case.module.parameters()}
    seen, total = set(), 0

    def pack(t):
        nonlocal total
        key = (t.data_ptr(), t.numel(), t.dtype)
        if t.data_ptr() not in owned and key not in seen:
            seen.add(key)
            total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = case.forward(*inputs)
    del out
    return total


def probe(case) -> dict:
    cmd = [sys.executable, os.path.join(HERE, "memory_probe.py"), "--op", case.op, "--provider", case.provider,
           "--mode", case.mode, "--T", str(case.T), "--B", str(case.B), "--N", str(case.N), "--K", str(case.K),
           "--device", str(case.device)]
    if case.op == "layer":
        cmd += ["--features", str(case.features)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if res.returncode != 0:
        pytest.fail(f"memory probe failed: {res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def _t_params():
    return [pytest.param(T, id=f"T{T}") for T in CPU["T"]] + [
        pytest.param(T, id=f"T{T}", marks=pytest.mark.long) for T in CPU["T_long"]]


@pytest.mark.parametrize("provider", ("eager", "compiled_step") + FUSED + ("lif_eager", "adlif_eager"))
@pytest.mark.parametrize("T", _t_params())
def test_scan_memory(record, gate, device, provider, T):
    s = sizes(device)
    if provider in ("eager", "compiled_step", "lif_eager", "adlif_eager") and T > s["T_eager_max"]:
        pytest.skip(f"unfused providers measured up to T={s['T_eager_max']}")
    case = build("scan", provider, "full", device, T=T, **s["sweep_BN"])
    gate(provider)
    figures = {"saved_bytes_per_neuron_step": saved_bytes(case) / case.neuron_steps}
    if provider != "compiled_step":  # its subprocess would recompile: the saved bytes say it
        figures.update(probe(case))
    record(case, **figures)


@pytest.mark.parametrize("provider", ("eager",) + FUSED + ("lif_eager", "adlif_eager"))
def test_layer_memory(record, gate, device, provider):
    s = sizes(device)
    case = build("layer", provider, "full", device, features=s["features"], **s["head"])
    gate(provider)
    record(case, saved_bytes_per_neuron_step=saved_bytes(case) / case.neuron_steps, **probe(case))
