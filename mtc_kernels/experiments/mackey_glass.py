"""The paper's experiment: Mackey-Glass regression with MTC, LIF and AdLIF networks.

    python -m mtc_kernels.experiments.mackey_glass --model all --quick --out out/mg

Task: from the normalised series up to time ``t`` (one sample per ``--sample-dt`` time
units, fed one sample per network step), predict ``x(t + h)``. The default horizon
``h = 167`` time units is one Lyapunov time of MG-17 (largest exponent ~0.006 per time
unit): an error in the inferred state grows by a factor e over it, and it is where direct
prediction starts to fail -- a quadratic ridge regression on a 90-unit delay embedding
(the ``ridge`` baseline printed with the results) reaches NRMSE ~0.06 at h = 84 but ~0.24
at h = 167 and ~0.4 at h = 250. So h = 167 sits near the predictability limit.

Models (:mod:`.mg_models`): the same width and depth for all three; trained with Adam on
random windows of the train split (full BPTT through each window; the first
``--warmup`` steps of a window carry no loss, they let the state settle), the checkpoint
with the best validation NRMSE kept, then scored on the test split (metrics skip its first
``--warmup`` steps too). Writes ``results.json``, ``predictions.png`` and ``activity.png``
to ``--out``.
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import platform
import sys
import time
from typing import Dict, List

import numpy as np
import torch

from .mg_data import LYAPUNOV_TIME, make_splits, mackey_glass, nrmse, smape
from .mg_models import MODELS, MGNet, activity_stats

# Learning rate and encoder-weight scale per model, picked by validation NRMSE from the same
# grid for every model (lr in {3e-3, 1e-2, 3e-2, 1e-1} x input scale in {1, 2}, 200 Adam steps,
# seed 0; docs/mackey_glass/tuning.md). --lr / --input-scale override them for all models.
TUNED = {"mtc": dict(lr=3e-2, input_scale=2.0), "lif": dict(lr=1e-1, input_scale=2.0),
         "adlif": dict(lr=1e-1, input_scale=2.0)}

QUICK = dict(steps=120, window=400, warmup=100, eval_every=20, length=4000.0)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(prog="python -m mtc_kernels.experiments.mackey_glass",
                                 description="Mackey-Glass regression: MTC vs LIF vs AdLIF (accuracy and sparsity).")
    ap.add_argument("--model", default="all", choices=list(MODELS) + ["all"])
    ap.add_argument("--horizon", type=float, default=167.0, help="prediction horizon h in time units (default: one Lyapunov time)")
    ap.add_argument("--steps", type=int, default=600, help="Adam steps per model")
    ap.add_argument("--epochs", type=int, default=None,
                    help="alternative to --steps: passes over the train split (steps = epochs * train samples / (batch * window))")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=1, help="seeds seed .. seed+repeats-1; the table shows mean and std")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--backend", default="auto", help="mtc_scan backend for the MTC model")
    ap.add_argument("--quick", action="store_true", help=f"a short run (about a minute on 2 cores): {QUICK}")
    ap.add_argument("--out", default="out/mackey_glass")
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--window", type=int, default=600, help="training window, in steps")
    ap.add_argument("--warmup", type=int, default=150, help="steps at the start of a window/split without loss or score")
    ap.add_argument("--lr", type=float, default=None, help="Adam learning rate (default: TUNED per model)")
    ap.add_argument("--input-scale", type=float, default=None,
                    help="std of the encoder weights, times 1/sqrt(fan-in) (default: TUNED per model)")
    ap.add_argument("--preset", default="tonic", help="MTC preset the neurons start from")
    ap.add_argument("--mtc-v-th", type=float, default=None,
                    help="initial start of the MTC activity window (preset: 0; width kept at 2); README: 3 is "
                         "more accurate and sparser")
    ap.add_argument("--eval-every", type=int, default=50)
    ap.add_argument("--sample-dt", type=float, default=1.0, help="time units per sample (= per network step)")
    ap.add_argument("--length", type=float, default=6000.0, help="time units of series after the washout (60/20/20 split)")
    ap.add_argument("--washout", type=float, default=500.0)
    ap.add_argument("--no-plots", action="store_true")
    args = ap.parse_args(argv)
    if args.quick:
        for k, v in QUICK.items():
            setattr(args, k, v)
    return args


class Progress:
    """A one-line progress bar with the running loss (no dependency)."""

    def __init__(self, total: int, label: str):
        self.total, self.label, self.t0 = total, label, time.perf_counter()
        self.tty = sys.stdout.isatty()

    def update(self, i: int, loss: float, extra: str = ""):
        done = i + 1
        if not self.tty and done % max(1, self.total // 10) and done != self.total:
            return
        width = 24
        fill = int(width * done / self.total)
        el = time.perf_counter() - self.t0
        line = (f"  {self.label:6s} [{'#' * fill}{'.' * (width - fill)}] {done}/{self.total} "
                f"loss {loss:.4f} {extra} {el:.0f}s")
        print(("\r" + line) if self.tty else line, end="" if self.tty else "\n", flush=True)

    def close(self):
        if self.tty:
            print()


def evaluate(net: MGNet, series: torch.Tensor, start: int, stop: int, horizon: int, warmup: int):
    """Run ``net`` over inputs ``series[start:stop]`` as one sequence; score from ``warmup``."""
    with torch.no_grad():
        z, acts = net(series[start:stop].view(-1, 1, 1))
    pred = z[warmup:, 0].double().cpu().numpy()
    target = series[start + horizon + warmup:stop + horizon].double().cpu().numpy()
    return pred, target, acts


def scores(splits, pred, target) -> dict:
    """NRMSE (scale-free) and sMAPE, the latter on the original, positive scale of the
    series (on the normalised one it would blow up near zero)."""
    return {"nrmse": nrmse(pred, target),
            "smape": smape(splits.denormalise(pred), splits.denormalise(target))}


def baselines(splits, warmup: int) -> Dict[str, dict]:
    """Non-spiking context: persistence (``x(t + h) = x(t)``) and a quadratic ridge on a
    delay embedding of 30 samples spaced 3 (90 time units at the default sampling)."""
    h = splits.horizon_steps
    a, b = splits.ranges["test"]
    s = splits.series
    out = {"persistence": scores(splits, s[a + warmup:b], s[a + h + warmup:b + h])}
    d, step = 30, 3

    def features(name):
        lo, hi = splits.ranges[name]
        ks = np.arange(max(lo + warmup, (d - 1) * step), hi)
        lin = np.stack([s[ks - j * step] for j in range(d)], 1)
        iu = np.triu_indices(d)
        quad = (lin[:, :, None] * lin[:, None, :])[:, iu[0], iu[1]]
        return np.concatenate([lin, quad, np.ones((len(ks), 1))], 1), s[ks + h]

    X, y = features("train")
    w = np.linalg.solve(X.T @ X + 1e-3 * np.eye(X.shape[1]), X.T @ y)
    Xt, yt = features("test")
    out["ridge"] = scores(splits, Xt @ w, yt)
    return out


def train_one(model: str, args, splits, seed: int, device: torch.device) -> dict:
    series = torch.tensor(splits.series, dtype=torch.float32, device=device)
    h = splits.horizon_steps
    lr = args.lr if args.lr is not None else TUNED[model]["lr"]
    scale = args.input_scale if args.input_scale is not None else TUNED[model]["input_scale"]
    net = MGNet(model, hidden=args.hidden, layers=args.layers, input_scale=scale,
                preset=args.preset, backend=args.backend, seed=seed, mtc_v_th=args.mtc_v_th).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    a, b = splits.ranges["train"]
    W = min(args.window, b - a)
    warm = min(args.warmup, W - 1)
    steps = args.steps
    if args.epochs is not None:
        steps = max(1, int(args.epochs * (b - a) / (args.batch * W)))
    rng = np.random.default_rng(seed)
    bar = Progress(steps, model)
    best = (math.inf, None, -1)
    history = []
    t0 = time.perf_counter()
    for it in range(steps):
        starts = torch.as_tensor(rng.integers(a, b - W + 1, args.batch), device=device)
        idx = starts[None, :] + torch.arange(W, device=device)[:, None]  # [W, batch]
        z, _ = net(series[idx].unsqueeze(-1))
        loss = torch.nn.functional.mse_loss(z[warm:], series[idx + h][warm:])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        history.append(float(loss.detach()))
        extra = ""
        if (it + 1) % args.eval_every == 0 or it + 1 == steps:
            va, vb = splits.ranges["val"]
            pred, target, _ = evaluate(net, series, va, vb, h, args.warmup)
            val = nrmse(pred, target)
            if val < best[0]:
                best = (val, copy.deepcopy(net.state_dict()), it + 1)
            extra = f"val NRMSE {val:.3f}"
        bar.update(it, history[-1], extra)
    bar.close()
    train_s = time.perf_counter() - t0
    if best[1] is not None:
        net.load_state_dict(best[1])
    ta, tb = splits.ranges["test"]
    pred, target, acts = evaluate(net, series, ta, tb, h, args.warmup)
    stats = activity_stats([act[args.warmup:] for act in acts], net.fanouts())
    backend = "reference (eager PyTorch loop)"
    if model == "mtc":
        from .. import backends
        backend = backends.resolve(args.backend, device).name
    return {
        "model": model, "seed": seed, **scores(splits, pred, target),
        "val_nrmse": best[0], "best_step": best[2], **stats,
        "parameters": sum(p.numel() for p in net.parameters()), "steps": steps,
        "train_seconds": train_s, "seconds_per_step": train_s / steps, "backend": backend,
        "loss_first": history[0], "loss_last": history[-1], "lr": lr, "input_scale": scale,
        "_pred": pred, "_target": target, "_act": acts[-1][args.warmup:, 0].cpu().numpy(),
    }


def summarise(runs: List[dict]) -> dict:
    keys = ("nrmse", "smape", "activity_sparsity", "mean_activity", "synops_per_step", "seconds_per_step")
    return {k: {"mean": float(np.mean([r[k] for r in runs])), "std": float(np.std([r[k] for r in runs]))}
            for k in keys}


def print_table(per_model: Dict[str, dict], base: Dict[str, dict], repeats: int):
    head = (f"{'model':12s} {'NRMSE':>15s} {'sMAPE %':>15s} {'sparsity':>9s} {'mean act':>9s} "
            f"{'synops/step':>12s} {'params':>7s} {'s/step':>7s}")
    print(head)
    print("-" * len(head))
    pm = "+-" if repeats > 1 else "  "
    for model, s in per_model.items():
        m = s["summary"]
        cell = lambda k, f: (f"{m[k]['mean']:{f}}" + (f" {pm}{m[k]['std']:{f}}" if repeats > 1 else ""))  # noqa: E731
        print(f"{model:12s} {cell('nrmse', '.3f'):>15s} {cell('smape', '.1f'):>15s} "
              f"{m['activity_sparsity']['mean']:9.3f} {m['mean_activity']['mean']:9.3f} "
              f"{m['synops_per_step']['mean']:12.1f} {s['parameters']:7d} {m['seconds_per_step']['mean']:7.3f}")
    for name, b in base.items():
        print(f"{name + '*':12s} {b['nrmse']:15.3f} {b['smape']:15.1f}")
    print("* non-spiking context: persistence x(t+h)=x(t); quadratic ridge on a 30x3-sample delay embedding")


def plot(per_model: Dict[str, dict], out: str, sample_dt: float):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("  (matplotlib not installed: no plots; pip install matplotlib)")
        return []
    models = list(per_model)
    fig, axes = plt.subplots(len(models), 1, figsize=(10, 2.4 * len(models)), sharex=True, squeeze=False)
    for ax, m in zip(axes[:, 0], models):
        r = per_model[m]["runs"][0]
        t = np.arange(len(r["_target"])) * sample_dt
        ax.plot(t, r["_target"], color="k", lw=1.0, label="truth x(t+h)")
        ax.plot(t, r["_pred"], color="tab:red", lw=1.0, label="prediction")
        ax.set_ylabel(f"{m}\nNRMSE {r['nrmse']:.3f}")
        ax.legend(loc="upper right", fontsize=8)
    axes[-1, 0].set_xlabel("time units into the test split (after warm-up)")
    fig.suptitle("Mackey-Glass test split: prediction against truth (normalised)")
    fig.tight_layout()
    paths = [os.path.join(out, "predictions.png")]
    fig.savefig(paths[0], dpi=110)
    plt.close(fig)
    fig, axes = plt.subplots(len(models), 1, figsize=(10, 2.6 * len(models)), sharex=True, squeeze=False)
    for ax, m in zip(axes[:, 0], models):
        act = per_model[m]["runs"][0]["_act"]
        n_show = min(64, act.shape[1])
        im = ax.imshow(act[:, :n_show].T, aspect="auto", cmap="magma", interpolation="nearest", vmin=0, vmax=1,
                       extent=[0, act.shape[0] * sample_dt, n_show, 0])
        ax.set_ylabel(f"{m}\nneuron")
        fig.colorbar(im, ax=ax, pad=0.01)
    axes[-1, 0].set_xlabel("time units into the test split (after warm-up)")
    fig.suptitle("hidden activity on the test split (first 64 neurons; black = 0)")
    fig.tight_layout()
    paths.append(os.path.join(out, "activity.png"))
    fig.savefig(paths[1], dpi=110)
    plt.close(fig)
    return paths


def main(argv=None) -> dict:
    args = parse_args(argv)
    device = torch.device(args.device)
    os.makedirs(args.out, exist_ok=True)
    models = list(MODELS) if args.model == "all" else [args.model]
    h_steps = int(round(args.horizon / args.sample_dt))
    t0 = time.perf_counter()
    raw = mackey_glass(args.length, sample_dt=args.sample_dt, washout=args.washout)
    splits = make_splits(raw, h_steps)
    print(f"Mackey-Glass (tau=17), {len(raw)} samples every {args.sample_dt} time units; horizon h={args.horizon} "
          f"({args.horizon / LYAPUNOV_TIME:.2f} Lyapunov times); splits {splits.ranges}; "
          f"{args.hidden} neurons x {args.layers} layer(s); device {device}")
    base = baselines(splits, args.warmup)
    per_model = {}
    for model in models:
        runs = [train_one(model, args, splits, args.seed + r, device) for r in range(args.repeats)]
        per_model[model] = {"runs": runs, "summary": summarise(runs), "parameters": runs[0]["parameters"]}
    print_table(per_model, base, args.repeats)
    plots = [] if args.no_plots else plot(per_model, args.out, args.sample_dt)
    result = {
        "task": {"series": "Mackey-Glass beta=0.2 gamma=0.1 n=10 tau=17, RK4 dt=0.02", "horizon": args.horizon,
                 "horizon_lyapunov_times": args.horizon / LYAPUNOV_TIME, "horizon_steps": h_steps,
                 "splits": splits.ranges, "normalisation": {"mean": splits.mean, "std": splits.std}},
        "config": vars(args),
        "models": {m: {"summary": s["summary"], "parameters": s["parameters"],
                       "runs": [{k: v for k, v in r.items() if not k.startswith("_")} for r in s["runs"]]}
                   for m, s in per_model.items()},
        "baselines": base,
        "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                    "torch": torch.__version__, "threads": torch.get_num_threads()},
        "wall_seconds": time.perf_counter() - t0,
        "plots": plots,
    }
    path = os.path.join(args.out, "results.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=2)
    print(f"wrote {path}" + "".join(f", {p}" for p in plots) + f"  ({result['wall_seconds']:.0f} s)")
    return result


if __name__ == "__main__":
    main()
