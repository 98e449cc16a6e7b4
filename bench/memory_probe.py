"""Peak memory of one benchmark case, measured in a fresh process (so no earlier test's
allocations count):

    python bench/memory_probe.py --op scan --provider cpu --mode full --T 4096 --B 8 --N 512 [--K 32]

Prints one JSON object: ``rss_inputs_bytes`` (resident set after building the inputs),
``peak_rss_bytes`` (the peak resident set while running the case once: the kernel's peak
mark is reset after the inputs are built, where Linux allows; ``peak_reset`` says), their
difference ``rss_above_inputs_bytes``, and on CUDA ``cuda_peak_bytes`` (peak allocated
during the run above what the inputs hold).
"""
import argparse
import json
import os
import resource
import sys

sys.path.insert(0, os.path.dirname(__file__))

import torch  # noqa: E402

from setups import make_case  # noqa: E402


def current_rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (Linux >= 4.0), so that the peak read after the run
    is the run's, not that of importing torch. False where it cannot be reset."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss(since_reset: bool) -> int:
    if since_reset:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--op", default="scan")
    ap.add_argument("--provider", required=True)
    ap.add_argument("--mode", default="full")
    for k in ("T", "B", "N"):
        ap.add_argument(f"--{k}", type=int, required=True)
    ap.add_argument("--K", type=int, default=32)
    ap.add_argument("--features", type=int, default=64)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args(argv)
    # A tiny run first loads the libraries and code the case uses (OpenMP, the kernel
    # module, torch's autograd engine), so the peak below is the case's data.
    tiny = make_case(a.op, a.provider, a.mode, T=min(a.T, 4), B=1, N=a.N, K=a.K, device=a.device,
                     features=a.features)
    tiny.run(*tiny.setup())
    del tiny
    case = make_case(a.op, a.provider, a.mode, T=a.T, B=a.B, N=a.N, K=a.K, device=a.device, features=a.features)
    args = case.setup()
    out = {"rss_inputs_bytes": current_rss(), "peak_reset": reset_peak()}
    if case.device.type == "cuda":
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
    case.run(*args)
    if case.device.type == "cuda":
        out["cuda_peak_bytes"] = torch.cuda.max_memory_allocated() - base
    out["peak_rss_bytes"] = peak_rss(out["peak_reset"])
    out["rss_above_inputs_bytes"] = out["peak_rss_bytes"] - out["rss_inputs_bytes"]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
