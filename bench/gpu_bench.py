"""GPU throughput of the fused backends (issues 4 and 5), every ratio measured in this run.

    python bench/gpu_bench.py --json OUT.json [--T 4096 --BN 1048576] [--fb-T 1024 --fb-BN 65536]

* the device-to-device copy bandwidth (torch clone of a 1 GiB buffer);
* forward at T x B*N (float32): seconds, bytes of x read + y written per second, and that
  as a fraction of the copy bandwidth;
* forward+backward at a smaller size for the fused backends, the eager reference and the
  reference's single step under torch.compile looped in Python.
A backend is first checked against the reference on a small float64 case; one that
disagrees gets no speed reported. The JSON is rewritten after each measurement, so a run cut
short by a timeout still leaves what it measured.
"""
from __future__ import annotations

import argparse
import json
import subprocess

import torch

import mtc_kernels as M
import python_ref as R
from setups import gate_error, scan_fn  # bench/setups.py: the same gate and loop as pytest bench/


def cuda_time(fn, reps=5):
    fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record(); fn(); b.record()
        torch.cuda.synchronize()
        ts.append(a.elapsed_time(b) / 1e3)
    ts.sort()
    return ts[len(ts) // 2]


def copy_bandwidth():
    a = torch.empty(2 ** 28, device="cuda")  # 1 GiB
    t = cuda_time(lambda: a.clone(), 10)
    return 2 * a.numel() * 4 / t


def make(T, B, N, dtype=torch.float32):
    g = torch.Generator(device="cuda").manual_seed(0)
    x = torch.randn(T, B, N, device="cuda", generator=g, dtype=dtype) * 0.7 - 1.6
    p = M.preset_params("bursting", N, jitter=0.1).to("cuda", R.state_dtype_for(dtype))
    s0 = M.rest_state(p, -2.5).unsqueeze(1).expand(4, B, N).contiguous()
    return x, p, s0


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--T", type=int, default=4096)
    ap.add_argument("--BN", type=int, default=2 ** 20)
    ap.add_argument("--fb-T", type=int, default=1024)
    ap.add_argument("--fb-BN", type=int, default=2 ** 16)
    ap.add_argument("--json", required=True)
    a = ap.parse_args(argv)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    res = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "commit": commit,
           "copy_bandwidth_Bps": copy_bandwidth(), "backends": {}}
    B, N = 16, a.BN // 16
    res["sizes"] = {"fwd": [a.T, B, N], "fwd_bwd": [a.fb_T, 16, a.fb_BN // 16]}

    def save():
        with open(a.json, "w") as f:
            json.dump(res, f, indent=2)

    save()
    x, p, s0 = make(a.T, B, N)
    fb = make(a.fb_T, 16, a.fb_BN // 16)
    xg, pg = fb[0].clone().requires_grad_(), fb[1].clone().requires_grad_()

    def run_fb(be):
        y, sT = M.mtc_scan(xg, pg, fb[2], backend=be, checkpoint_every=32)
        (y.sum() + sT.sum()).backward()

    for be in ("triton", "cuda"):
        reason = M.backends.get(be).unavailable_reason(torch.device("cuda"))
        if reason:
            res["backends"][be] = {"unavailable": reason}
            continue
        err = gate_error(be, "cuda")
        r = {"gate_max_rel_err_float64": err}
        if err <= 1e-10:
            with torch.no_grad():
                t = cuda_time(lambda: M.mtc_scan(x, p, s0, backend=be))
            r.update(fwd_s=t, fwd_bytes_per_s=2 * x.numel() * 4 / t)
            r["fwd_fraction_of_copy_bw"] = r["fwd_bytes_per_s"] / res["copy_bandwidth_Bps"]
            res["backends"][be] = r
            save()
            r["fwd_bwd_s"] = cuda_time(lambda: run_fb(be), 3)
        res["backends"][be] = r
        save()

    def ref_fb():
        y, sT = R.mtc_scan_ref(xg, pg, fb[2])
        (y.sum() + sT.sum()).backward()

    comp_scan = scan_fn("compiled_step", 32)  # the reference step compiled, looped in Python

    def comp_fb():
        y, sT = comp_scan(xg, pg, fb[2])
        (y.sum() + sT.sum()).backward()

    def speedups():
        for r in res["backends"].values():
            for key, base in (("speedup_fwd_bwd_vs_eager", "ref_fwd_bwd_s"),
                              ("speedup_fwd_bwd_vs_compiled_step", "compiled_step_fwd_bwd_s")):
                if "fwd_bwd_s" in r and base in res:
                    r[key] = res[base] / r["fwd_bwd_s"]
        save()

    res["ref_fwd_bwd_s"] = cuda_time(ref_fb, 1)
    speedups()
    res["compiled_step_fwd_bwd_s"] = cuda_time(comp_fb, 1)
    speedups()
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
