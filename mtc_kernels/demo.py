"""The package's short main job: the three firing regimes, then an MTC network trained a
few steps with exact gradients through a long window on the fused kernel.

    python -m mtc_kernels.demo [--out DIR] [--steps N] [--T T]

Prints, per preset, the spike count and intervals of one neuron driven from rest by a step
of input; then builds ``MTCLayer -> Linear``, trains it with Adam to reproduce a slow
sine from a noisy drive over ``T`` steps (full BPTT through the scan), and prints the loss,
the activity sparsity and the time per step. Writes ``regimes.png`` (voltage and activity
against time, needs matplotlib) and ``demo.json`` to ``--out``.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time

import numpy as np
import torch

from . import MTCLayer, available_backends, backends
from .regimes import bursts, spike_times, step_response


def regimes(out_dir: str, T: int = 6000) -> dict:
    summary = {}
    traces = {}
    for preset in ("tonic", "phasic", "bursting"):
        y, v = step_response(preset, T, with_voltage=True)
        sp = spike_times(y)
        isi = np.diff(sp)
        groups = bursts(sp)
        summary[preset] = {
            "spikes": int(len(sp)),
            "first_spike": int(sp[0]) if len(sp) else None,
            "isi_mean": float(isi.mean()) if len(isi) else None,
            "isi_cv": float(isi.std() / isi.mean()) if len(isi) > 1 else None,
            "bursts_of_3_or_more": int(sum(len(g) >= 3 for g in groups)),
        }
        traces[preset] = (v, y)
        s = summary[preset]
        print(f"  {preset:9s} spikes={s['spikes']:4d}  first at t={s['first_spike']}  "
              f"mean ISI={s['isi_mean'] if s['isi_mean'] is None else round(s['isi_mean'], 1)}  "
              f"CV={s['isi_cv'] if s['isi_cv'] is None else round(s['isi_cv'], 3)}  "
              f"bursts(>=3 spikes)={s['bursts_of_3_or_more']}")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("  (matplotlib not installed: no regimes.png; pip install matplotlib)")
        return summary
    fig, axes = plt.subplots(3, 1, figsize=(10, 7), sharex=True)
    for ax, (preset, (v, y)) in zip(axes, traces.items()):
        ax.plot(v, lw=0.7, color="tab:blue", label="membrane v")
        ax.set_ylabel(f"{preset}\nv")
        ax2 = ax.twinx()
        ax2.fill_between(np.arange(len(y)), y, color="tab:red", alpha=0.4, lw=0, label="activity y")
        ax2.set_ylim(0, 3)
        ax2.set_ylabel("y")
    axes[0].set_title("MTC presets: step of constant input from rest (v blue, activity y red)")
    axes[-1].set_xlabel("time step")
    fig.tight_layout()
    path = os.path.join(out_dir, "regimes.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"  wrote {path}")
    return summary


def train(T: int, steps: int, seed: int = 0) -> dict:
    torch.manual_seed(seed)
    B, F, N = 4, 8, 64
    layer = MTCLayer(F, N, preset="tonic", jitter=0.1, freeze=("beta_m", "beta_f"))
    with torch.no_grad():  # drive the neurons into their excitable range (rest is -2.5, tonic from ~-1)
        layer.linear.weight.mul_(3.0)
        layer.linear.bias.uniform_(-1.6, -0.4)
    readout = torch.nn.Linear(N, 1)
    opt = torch.optim.Adam(list(layer.parameters()) + list(readout.parameters()), lr=1e-2)
    t = torch.arange(T, dtype=torch.float32)
    phase = torch.rand(B) * 2 * math.pi
    target = torch.sin(2 * math.pi * t[:, None] / 1000.0 + phase).unsqueeze(-1)  # [T, B, 1]
    drive = torch.cat([target, 0.3 * torch.randn(T, B, F - 1)], -1)
    history = []
    t0 = time.perf_counter()
    for i in range(steps):
        opt.zero_grad()
        y = layer(drive)
        loss = torch.nn.functional.mse_loss(readout(y), target)
        loss.backward()
        opt.step()
        history.append(loss.item())
        if (i + 1) % max(1, steps // 10) == 0 or i == 0:
            print(f"  step {i + 1:3d}/{steps}  loss {history[-1]:.4f}")
    dt = (time.perf_counter() - t0) / max(steps, 1)
    with torch.no_grad():
        y = layer(drive)
    sparsity = float((y == 0).float().mean())
    return {"T": T, "B": B, "in": F, "neurons": N, "steps": steps, "loss_first": history[0],
            "loss_last": history[-1], "activity_sparsity": sparsity, "seconds_per_step": dt,
            "backend": backends.resolve("auto", torch.device("cpu")).name}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="out/demo")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--T", type=int, default=4000)
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    print(f"mtc-kernels demo; backends on cpu: {available_backends('cpu')}")
    print("1. firing regimes (one neuron per preset, step of input from rest):")
    reg = regimes(args.out)
    print(f"2. MTCLayer(8 -> 64, tonic) + Linear, Adam, full BPTT over T={args.T} steps:")
    tr = train(args.T, args.steps)
    print(f"  loss {tr['loss_first']:.4f} -> {tr['loss_last']:.4f}; activity sparsity {tr['activity_sparsity']:.3f}; "
          f"{tr['seconds_per_step'] * 1e3:.0f} ms per training step on backend '{tr['backend']}'")
    with open(os.path.join(args.out, "demo.json"), "w") as f:
        json.dump({"regimes": reg, "training": tr}, f, indent=2)
    print(f"  wrote {os.path.join(args.out, 'demo.json')}")


if __name__ == "__main__":
    main()
