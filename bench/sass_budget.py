"""The instruction budget of the fused kernels' time loops, read from their compiled SASS
(nvcc / triton.compile for a CUDA target, cuobjdump): no GPU needed.

    python bench/sass_budget.py [--arch 90] [--sms 132] [--clock-ghz 1.98] [--copy-gbs 4000]

For the float32 forward of the CUDA backend and of the Triton backend it finds the time
loop (the innermost loop storing the most y elements per iteration), and counts its
instructions per neuron-step: all of them, the MUFU ones (the special-function unit: exp2,
reciprocal) and the memory ones. An SM issues one warp instruction per clock per scheduler
(4 schedulers) and 16 MUFU results per clock, so

    neuron-steps/s <= min(SMs * 4 * 32 * clock / instructions, SMs * 16 * clock / MUFU),

and moving 8 bytes per neuron-step (x read, y written, float32), that bounds the forward's
bandwidth whatever the memory system does. For the backward (gradient on every y) it counts
its two loops per neuron-step, the recompute from a checkpoint and the adjoint, and bounds
a forward+backward the same way. The defaults are an H200 (132 SMs, 1.98 GHz boost);
``--copy-gbs`` is the device-to-device copy bandwidth to compare with (bench/gpu_bench.py
measures it on a GPU). A static count, so an estimate of the ceiling: every instruction of
the loop body counts once (also a slow path behind a branch, 2 of the CUDA forward's 105,
and both sides of a branch, which a warp runs only where its threads diverge), and stalls
are ignored.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

_LINE = re.compile(r"/\*([0-9a-f]{4,})\*/\s+(.*?)\s*;")


def cuobjdump() -> str:
    """cuobjdump from the CUDA toolkit, else the copy Triton ships."""
    import cuda_build
    nvcc = cuda_build.find_nvcc()
    cands = [os.path.join(cuda_build.cuda_home(nvcc), "bin", "cuobjdump")] if nvcc else []
    try:
        import triton
        cands.append(os.path.join(os.path.dirname(triton.__file__), "backends", "nvidia", "bin", "cuobjdump"))
    except ImportError:
        pass
    for c in cands + [shutil.which("cuobjdump") or ""]:
        if c and os.path.exists(c):
            return c
    raise RuntimeError("no cuobjdump (CUDA toolkit or Triton's bundled copy) found")


def functions(sass: str):
    """{function name: [(address, instruction text)]} of a cuobjdump -sass listing."""
    out, name = {}, None
    for line in sass.splitlines():
        if "Function :" in line:
            name = line.split("Function :")[1].strip()
            out[name] = []
        elif name:
            m = _LINE.search(line)
            if m:
                out[name].append((int(m.group(1), 16), m.group(2).strip()))
    return out


def store_elements(ins: str) -> int:
    """Elements of 4 bytes one STG writes (STG.E = 1, STG.E.64 = 2, STG.E.128 = 4)."""
    width = re.search(r"STG\.E(?:\.EF)?(?:\.(64|128))?", ins)
    return {None: 1, "64": 2, "128": 4}[width.group(1)] if width else 0


def _loops(code):
    """(start, end) indices of every loop (a backward branch) with no loop inside."""
    addr_index = {a: i for i, (a, _) in enumerate(code)}
    loops = []
    for i, (a, ins) in enumerate(code):
        m = re.search(r"\bBRA\s+(?:!?U?P\d+,\s*)?0x([0-9a-f]+)", ins)
        if m and int(m.group(1), 16) < a and int(m.group(1), 16) in addr_index:
            loops.append((addr_index[int(m.group(1), 16)], i))
    return [(j, i) for j, i in loops if not any(j <= j2 and i2 < i for j2, i2 in loops if (j2, i2) != (j, i))]


def backward_budget(code):
    """The backward's two time loops: the recompute (stores the 4 states of each step to the
    scratch, more stores than loads) and the adjoint (stores one gx per step; loads the
    states, x and gy). Per neuron-step each, and their sum."""
    out = {}
    for j, i in _loops(code):
        body = [t for _, t in code[j:i + 1]]
        stored = sum(store_elements(t) for t in body)
        loads = sum(1 for t in body if re.search(r"\bLDG\b", t))
        if not stored:
            continue
        kind, per_step = ("recompute", 4) if stored > loads else ("adjoint", 1)
        steps = stored / per_step
        row = {"instructions_per_step": len(body) / steps,
               "mufu_per_step": sum(1 for t in body if "MUFU" in t) / steps}
        if kind not in out or steps > out[kind]["_steps"]:  # an unrolled loop over its remainder
            out[kind] = {**row, "_steps": steps}
    if set(out) != {"recompute", "adjoint"}:
        raise RuntimeError(f"expected a recompute and an adjoint loop, found {sorted(out)}")
    for r in out.values():
        del r["_steps"]
    out["instructions_per_step"] = out["recompute"]["instructions_per_step"] + out["adjoint"]["instructions_per_step"]
    out["mufu_per_step"] = out["recompute"]["mufu_per_step"] + out["adjoint"]["mufu_per_step"]
    return out


def main_store_loop(code):
    """(start, end) indices of the forward's time loop: of the innermost loops that store,
    the one storing the most elements per iteration (an unrolled main loop rather than its
    remainder loop)."""
    best, best_key = None, None
    for j, i in _loops(code):
        stored = sum(store_elements(t) for _, t in code[j:i + 1])
        key = (-stored, i - j)
        if stored and (best_key is None or key < best_key):
            best, best_key = (j, i), key
    if best is None:
        raise RuntimeError("no loop with a store found")
    return best


def loop_budget(code):
    j, i = main_store_loop(code)
    body = [t for _, t in code[j:i + 1]]
    steps = sum(store_elements(t) for t in body)  # one y element stored per neuron-step
    count = lambda pred: sum(1 for t in body if pred(t)) / steps
    return {"loop_instructions": len(body), "neuron_steps_per_iteration": steps,
            "instructions_per_step": count(lambda t: True),
            "mufu_per_step": count(lambda t: "MUFU" in t),
            "memory_per_step": count(lambda t: re.search(r"\b(LDG|STG)\b", t) is not None),
            "branches_per_iteration": sum(1 for t in body if re.search(r"\bBRA\b", t))}


def sass_of_cubin(cubin: bytes) -> str:
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "k.cubin")
        with open(path, "wb") as f:
            f.write(cubin)
        return subprocess.run([cuobjdump(), "-sass", path], check=True, capture_output=True, text=True).stdout


def cuda_sass(arch: int) -> str:
    """SASS of csrc/cuda/mtc_cuda.cu (every kernel) for sm_<arch>."""
    import cuda_build
    nvcc = cuda_build.find_nvcc()
    if nvcc is None:
        raise RuntimeError("no nvcc")
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "k.cubin")
        # setup.py's device flags (cuda_build.nvcc_flags), as one cubin for one architecture.
        cmd = [nvcc, "-std=c++17", "-O3", "--expt-relaxed-constexpr", f"-arch=sm_{arch}", "-cubin",
               "-I", os.path.join(ROOT, "csrc"), os.path.join(ROOT, cuda_build.CUDA_SOURCES[0]), "-o", out]
        subprocess.run(cmd, check=True)
        with open(out, "rb") as f:
            return sass_of_cubin(f.read())


def triton_sass(arch: int, block: int, num_warps: int, kernel: str) -> str:
    """SASS of one Triton kernel variant (a mtc_kernels.triton.lowering name), compiled in a
    subprocess without TRITON_INTERPRET."""
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    code = ("import sys, os\n"
            "from mtc_kernels.triton.lowering import compile_kernels\n"
            f"k = compile_kernels({arch}, block={block}, num_warps={num_warps}, only={kernel!r})\n"
            f"sys.stdout.buffer.write(k[{kernel!r}].asm['cubin'])\n")
    cubin = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True).stdout
    return sass_of_cubin(cubin)


def function_code(name_part: str, sass: str):
    fns = functions(sass)
    names = [n for n in fns if name_part in n]
    if len(names) != 1:
        raise RuntimeError(f"{name_part!r} matches {names}")
    return fns[names[0]]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", type=int, default=90)
    ap.add_argument("--sms", type=int, default=132)
    ap.add_argument("--clock-ghz", type=float, default=1.98)
    ap.add_argument("--copy-gbs", type=float, default=None, help="measured device-to-device copy bandwidth")
    ap.add_argument("--triton-block", type=int, default=256)
    ap.add_argument("--triton-warps", type=int, default=4)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    issue_rate = args.sms * 4 * 32 * args.clock_ghz * 1e9  # thread-instructions per second
    mufu_rate = args.sms * 16 * args.clock_ghz * 1e9
    csass = cuda_sass(args.arch)
    tcfg = f"BLOCK={args.triton_block}, {args.triton_warps} warps"
    tsass = lambda kernel: triton_sass(args.arch, args.triton_block, args.triton_warps, kernel)
    rows = {"cuda forward fp32": loop_budget(function_code("forward_kernelIffE", csass)),
            f"triton forward fp32 ({tcfg})": loop_budget(function_code("mtc_forward_kernel", tsass("forward[fp32]")))}
    bwd = {"cuda backward fp32": backward_budget(function_code("backward_kernelIffLi1E", csass)),
           f"triton backward fp32 ({tcfg})": backward_budget(
               function_code("mtc_backward_kernel", tsass("backward[fp32,gy=1,gstate_T=True]")))}
    for name, r in rows.items():
        issue = issue_rate / r["instructions_per_step"]
        mufu = mufu_rate / r["mufu_per_step"]
        r["bound_neuron_steps_per_s"] = min(issue, mufu)
        r["bound_by"] = "issue" if issue <= mufu else "MUFU"
        r["bound_gbs_fp32"] = r["bound_neuron_steps_per_s"] * 8 / 1e9
        line = (f"{name}: {r['instructions_per_step']:.1f} instructions per neuron-step "
                f"({r['mufu_per_step']:.1f} MUFU, {r['memory_per_step']:.2f} memory; loop of "
                f"{r['loop_instructions']} for {r['neuron_steps_per_iteration']} steps, "
                f"{r['branches_per_iteration']} branches) -> at most "
                f"{r['bound_neuron_steps_per_s'] / 1e9:.0f} G neuron-steps/s ({r['bound_by']}-bound), "
                f"{r['bound_gbs_fp32']:.0f} GB/s of x+y")
        if args.copy_gbs:
            r["bound_fraction_of_copy"] = r["bound_gbs_fp32"] / args.copy_gbs
            line += f" = {r['bound_fraction_of_copy']:.0%} of {args.copy_gbs:.0f} GB/s copy"
        print(line)
    for (name, b), fwd in zip(bwd.items(), rows.values()):
        total = fwd["instructions_per_step"] + b["instructions_per_step"]
        b["forward_plus_backward_instructions_per_step"] = total
        b["bound_fwd_bwd_neuron_steps_per_s"] = min(
            issue_rate / total, mufu_rate / (fwd["mufu_per_step"] + b["mufu_per_step"]))
        print(f"{name}: {b['instructions_per_step']:.1f} instructions per neuron-step (recompute "
              f"{b['recompute']['instructions_per_step']:.1f} + adjoint {b['adjoint']['instructions_per_step']:.1f}; "
              f"MUFU {b['recompute']['mufu_per_step']:.1f} + {b['adjoint']['mufu_per_step']:.1f} = "
              f"{b['mufu_per_step']:.1f}) -> forward+backward at most "
              f"{b['bound_fwd_bwd_neuron_steps_per_s'] / 1e9:.0f} G neuron-steps/s")
    rows.update(bwd)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"arch": args.arch, "sms": args.sms, "clock_ghz": args.clock_ghz, "kernels": rows}, f, indent=1)


if __name__ == "__main__":
    main()
