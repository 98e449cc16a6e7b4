"""Issue-3 targets of the fused CPU kernel, every ratio measured in this one run.

    python bench/cpu_targets.py [--T 1024 --B 16 --N 512] [--long-T 65536] [--json PATH]

Measures, float32, K = 32:
* forward and forward+backward time of the eager reference (python_ref), of the reference's
  single step compiled with torch.compile and looped in Python (compiling the whole loop
  would unroll T steps, which is not what users do), and of the fused "cpu" backend;
* bytes saved for backward per neuron-step (torch.autograd.graph.saved_tensors_hooks,
  not counting the op's own inputs x, params, state0) for the reference and the fused op;
* the fraction of the machine's float32 peak reached by the fused forward, counting the
  step's arithmetic (setups.FLOPS_FWD) against a peak measured here with a large
  matmul;
* forward+backward at the long horizon --long-T with its time and the peak RSS.
Before timing, the fused backend is checked against the reference on a small float64 case
(setups.gate_error, as in pytest bench/); if it disagrees, no speed is reported.
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time

import torch

import mtc_kernels as M
import python_ref as R
from setups import FLOPS_FWD as FLOPS_PER_STEP  # counted in bench/setups.py
from setups import gate_error, scan_fn  # bench/setups.py: the same gate and loop as pytest bench/

def median_time(fn, reps):
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    ts.sort()
    return ts[len(ts) // 2]


def make(T, B, N, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn(T, B, N, generator=g) * 0.7 - 1.6)
    p = M.preset_params("bursting", N, jitter=0.1, generator=g)
    s0 = M.rest_state(p, -2.5).unsqueeze(1).expand(4, B, N).contiguous()
    return x, p, s0


def saved_bytes(fn, x, p, s0):
    inputs = {t.data_ptr() for t in (x, p, s0)}
    seen, total = set(), 0

    def pack(t):
        nonlocal total
        key = (t.data_ptr(), t.numel())
        if t.data_ptr() not in inputs and key not in seen:
            seen.add(key)
            total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn(x, p, s0)
    del out
    return total


def peak_flops():
    a = torch.randn(2048, 2048)
    a @ a
    t = median_time(lambda: a @ a, 5)
    return 2 * 2048 ** 3 / t


def long_horizon(T, B, N):
    """Run fwd+bwd at a long T in a subprocess and report its time and peak RSS."""
    code = f"""
import time, resource, torch, mtc_kernels as M
x = (torch.randn({T}, {B}, {N}) * 0.7 - 1.6).requires_grad_()
p = M.preset_params('bursting', {N}, jitter=0.1).requires_grad_()
t0 = time.perf_counter()
y, sT = M.mtc_scan(x, p, backend='cpu', checkpoint_every=32)
(y.sum() + sT.sum()).backward()
dt = time.perf_counter() - t0
print(dt, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, bool(torch.isfinite(x.grad).all()))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), int(out[1]), out[2] == "True"


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--T", type=int, default=1024)
    ap.add_argument("--B", type=int, default=16)
    ap.add_argument("--N", type=int, default=512)
    ap.add_argument("--long-T", type=int, default=65536)
    ap.add_argument("--json", default=None)
    ap.add_argument("--skip-slow", action="store_true", help="skip the eager/compiled backward (tens of seconds)")
    args = ap.parse_args(argv)
    T, B, N, K = args.T, args.B, args.N, 32
    ns = T * B * N
    res = {"machine": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
           "torch": torch.__version__, "T": T, "B": B, "N": N, "K": K, "dtype": "float32"}

    err = gate_error("cpu", "cpu")
    res["gate_max_rel_err_float64"] = err
    if err > 1e-10:
        print(f"fused cpu backend DISAGREES with the reference (max rel err {err:.2e}): no speed reported")
        sys.exit(1)

    x, p, s0 = make(T, B, N)
    xg, pg = x.clone().requires_grad_(), p.clone().requires_grad_()

    def fused_fwd():
        with torch.no_grad():
            M.mtc_scan(x, p, s0, backend="cpu", checkpoint_every=K)

    def fused_fb():
        y, sT = M.mtc_scan(xg, pg, s0, backend="cpu", checkpoint_every=K)
        (y.sum() + sT.sum()).backward()

    def ref_fwd():
        with torch.no_grad():
            R.mtc_scan_ref(x, p, s0)

    def ref_fb():
        y, sT = R.mtc_scan_ref(xg, pg, s0)
        (y.sum() + sT.sum()).backward()

    comp_scan = scan_fn("compiled_step", K)  # the reference step compiled, looped in Python

    def comp_fwd():
        with torch.no_grad():
            comp_scan(x, p, s0)

    def comp_fb():
        y, sT = comp_scan(xg, pg, s0)
        (y.sum() + sT.sum()).backward()

    # The forward kernel alone, writing into outputs allocated once: the difference to
    # fused_fwd_s is mostly the first-touch page faults of the fresh 32 MB y.
    from mtc_kernels import _cpu
    y0, sT0, ck0 = torch.empty(T, B, N), torch.empty(4, B, N), torch.empty(1, 4, B, N)

    def kernel_fwd_reused():
        _cpu.forward_f32(x.data_ptr(), x.stride(0), x.stride(1), p.data_ptr(), s0.data_ptr(), y0.data_ptr(),
                         sT0.data_ptr(), ck0.data_ptr(), T, B, N, T, torch.get_num_threads())

    fused_fwd(); fused_fb(); kernel_fwd_reused()  # warm-up
    res["fused_fwd_s"] = median_time(fused_fwd, 7)
    res["fused_fwd_kernel_reused_outputs_s"] = median_time(kernel_fwd_reused, 7)
    res["fused_fwd_bwd_s"] = median_time(fused_fb, 5)
    res["ref_fwd_s"] = median_time(ref_fwd, 3)
    comp_fwd(); comp_fb()  # compile outside the timing
    res["compiled_step_fwd_s"] = median_time(comp_fwd, 3)
    if not args.skip_slow:
        res["ref_fwd_bwd_s"] = median_time(ref_fb, 1)
        res["compiled_step_fwd_bwd_s"] = median_time(comp_fb, 1)
    res["fused_fwd_neuron_steps_per_s"] = ns / res["fused_fwd_s"]
    res["speedup_fwd_vs_eager"] = res["ref_fwd_s"] / res["fused_fwd_s"]
    res["speedup_fwd_vs_compiled_step"] = res["compiled_step_fwd_s"] / res["fused_fwd_s"]
    if not args.skip_slow:
        res["speedup_fwd_bwd_vs_eager"] = res["ref_fwd_bwd_s"] / res["fused_fwd_bwd_s"]
        res["speedup_fwd_bwd_vs_compiled_step"] = res["compiled_step_fwd_bwd_s"] / res["fused_fwd_bwd_s"]

    small = make(128, B, N)
    sm = [t.clone().requires_grad_() for t in small[:2]] + [small[2]]
    ns_small = 128 * B * N
    res["saved_bytes_per_neuron_step_ref"] = saved_bytes(lambda a, b, c: R.mtc_scan_ref(a, b, c), *sm) / ns_small
    res["saved_bytes_per_neuron_step_fused"] = saved_bytes(
        lambda a, b, c: M.mtc_scan(a, b, c, backend="cpu", checkpoint_every=K), *sm) / ns_small
    res["saved_ratio_ref_over_fused"] = res["saved_bytes_per_neuron_step_ref"] / res["saved_bytes_per_neuron_step_fused"]

    peak = peak_flops()
    res["peak_flops_matmul"] = peak
    res["flops_per_step"] = FLOPS_PER_STEP
    res["fused_fwd_fraction_of_peak"] = ns * FLOPS_PER_STEP / res["fused_fwd_s"] / peak

    if args.long_T:
        t_long, rss, finite = long_horizon(args.long_T, B, N)
        res.update({"long_T": args.long_T, "long_fwd_bwd_s": t_long, "long_peak_rss_bytes": rss, "long_grad_finite": finite})

    for k, v in res.items():
        print(f"{k:36s} {v:.4g}" if isinstance(v, float) else f"{k:36s} {v}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=2)


if __name__ == "__main__":
    main()
