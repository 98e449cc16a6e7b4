"""Profile one MTCLayer training step at a long horizon with torch.profiler.

    python bench/profile_long.py [--T 100000 --B 4 --F 64 --N 256 --K 32 --backend auto] [--cold] [--out out/profile]

Prints where the time goes -- the Linear's GEMMs, the scan forward (``mtc::scan``), the
scan backward (``mtc::scan_backward``), and the rest (loss, autograd bookkeeping,
allocation) -- the peak memory (CUDA: ``max_memory_allocated``; CPU: the process's peak
resident set during the step), and writes a Chrome trace (open it in chrome://tracing or
https://ui.perfetto.dev) to ``--out/trace.json``. The profiled step is the second one, as
in training; ``--cold`` profiles the first instead, which also pays for the operating
system's first touch of the step's fresh memory (on this VM over a second at T = 100,000).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import time

import torch
from torch.profiler import ProfilerActivity, profile

import mtc_kernels as M

GEMM = ("aten::mm", "aten::addmm", "aten::bmm", "aten::matmul", "aten::linear")


def _category(name):
    if "scan_backward" in name or "mtc_scan_defaultBackward" in name:
        return "scan backward"
    if "mtc_scan" in name or name == "mtc::scan":
        return "scan forward"
    if name.startswith(GEMM):
        return "gemm"
    return None


def categorise(prof, device):
    """Seconds per category. Each profiled op's *self* time goes to the category of its
    nearest enclosing op that has one (so the copies and reductions the scan ops do inside
    count as the scan's, and nothing is counted twice); the remainder is "rest"."""
    use_cuda = device.type == "cuda"
    cats = {"gemm": 0.0, "scan forward": 0.0, "scan backward": 0.0, "rest": 0.0}
    for ev in prof.events():
        t = ev.self_device_time_total if use_cuda else ev.self_cpu_time_total
        node, cat = ev, None
        while node is not None and cat is None:
            cat = _category(node.name)
            node = node.cpu_parent
        cats[cat or "rest"] += t / 1e6
    return cats


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--T", type=int, default=100_000)
    ap.add_argument("--B", type=int, default=4)
    ap.add_argument("--F", type=int, default=64)
    ap.add_argument("--N", type=int, default=256)
    ap.add_argument("--K", type=int, default=32)
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--cold", action="store_true", help="profile the first step (with the first touch of its memory)")
    ap.add_argument("--out", default="out/profile")
    a = ap.parse_args(argv)
    dev = torch.device(a.device)
    os.makedirs(a.out, exist_ok=True)
    layer = M.MTCLayer(a.F, a.N, preset="bursting", jitter=0.1, backend=a.backend, checkpoint_every=a.K).to(dev)
    readout = torch.nn.Linear(a.N, 1).to(dev)
    inp = torch.randn(a.T, a.B, a.F, device=dev)
    target = torch.randn(a.T, a.B, 1, device=dev)

    def step():
        layer.zero_grad(set_to_none=True)
        readout.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(readout(layer(inp)), target)
        loss.backward()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        return loss

    tiny = M.MTCLayer(a.F, a.N, backend=a.backend).to(dev)  # warm-up: libraries, autotuning
    tiny(inp[:8]).sum().backward()
    if not a.cold:
        step()  # untimed: what is profiled is a step in steady state
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    else:
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dev.type == "cuda" else [])
    t0 = time.perf_counter()
    with profile(activities=acts, record_shapes=False) as prof:
        loss = step()
    wall = time.perf_counter() - t0
    if dev.type == "cuda":
        peak = torch.cuda.max_memory_allocated()
        peak_name = "CUDA max_memory_allocated"
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    peak = int(line.split()[1]) * 1024
        peak_name = "peak resident set"
    cats = categorise(prof, dev)
    total = sum(cats.values())
    backend = M.backends.resolve(a.backend, dev).name
    print(f"one MTCLayer({a.F} -> {a.N}) training step, T={a.T}, B={a.B}, K={a.K}, backend {backend}, "
          f"device {dev}: {wall:.2f} s wall (under the profiler), loss {float(loss.detach()):.4f}")
    for k, v in cats.items():
        print(f"  {k:14s} {v:8.3f} s  {100 * v / total:5.1f}%")
    print(f"  {peak_name}: {peak / 2 ** 30:.2f} GiB  (x, y and their gradients: "
          f"{4 * a.T * a.B * a.N * 4 / 2 ** 30:.2f} GiB; the checkpoints: {4 * -(-a.T // a.K) * a.B * a.N * 4 / 2 ** 20:.0f} MiB)")
    trace = os.path.join(a.out, "trace.json")
    prof.export_chrome_trace(trace)
    summary = {"T": a.T, "B": a.B, "F": a.F, "N": a.N, "K": a.K, "backend": backend, "device": str(dev),
               "wall_s": wall, "seconds": cats, "peak_bytes": peak,
               "peak_kind": peak_name}
    with open(os.path.join(a.out, "profile.json"), "w") as f:
        json.dump(summary, f, indent=2)
    print(f"  wrote {trace} and {os.path.join(a.out, 'profile.json')}")
    print(prof.key_averages().table(sort_by="self_cuda_time_total" if dev.type == "cuda" else "self_cpu_time_total",
                                    row_limit=12))


if __name__ == "__main__":
    main()
