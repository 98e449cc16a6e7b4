"""Compile the Triton kernels for real GPUs without one: ``triton.compile`` with a CUDA
target lowers them through TTIR, TTGIR, LLVM IR and PTX to a cubin (with the ``ptxas``
Triton ships), which catches what only the interpreter accepts. It also checks, in the
TTIR, that every pointer offset is 64-bit (``tt.addptr`` with an i64 offset): T*B*N passes
2^31 at sizes users run (T=4096, B*N=2^20), and the interpreter, whose offsets are numpy's
int64 whatever the kernel says, cannot catch a 32-bit one), and, in the PTX, that every
float division is correctly rounded (the interpreter divides with numpy).

    python -m mtc_kernels.triton.lowering [--arch 80 90]

Must run with ``TRITON_INTERPRET`` unset (interpreted kernels cannot be compiled).
"""
from __future__ import annotations

import argparse
import os
import re
import sys

_INTS = ("T", "C", "K", "N", "BN")

# (x dtype, state dtype) pairs the backend launches.
DTYPES = (("fp32", "fp32"), ("bf16", "fp32"), ("fp16", "fp32"), ("fp64", "fp64"))


def _signature(kernel, ptr_types, ints, constexprs):
    sig = {}
    for name in kernel.arg_names:
        if name in constexprs:
            sig[name] = "constexpr"
        elif name in ints:
            sig[name] = "i32"
        else:
            sig[name] = ptr_types[name]
    return sig


def narrow_offsets(ttir: str):
    """The ``tt.addptr`` lines of a TTIR listing whose offset is narrower than 64 bits."""
    out = []
    for line in ttir.splitlines():
        if "tt.addptr" in line:
            m = re.search(r",\s*(?:tensor<(?:\d+x)+)?i(\d+)>?\s*(?:loc\(.*)?$", line.strip())
            if m is None or int(m.group(1)) < 64:
                out.append(line.strip())
    return out


def approximate_divisions(ptx: str):
    """The PTX float divisions that are not correctly rounded (``div.full``, ``div.approx``):
    Triton's float32 ``/`` is ``div.full.f32``, so the kernels divide with ``div_rn``
    (mtc_kernels/triton/step.py: ``div``), as C++ and torch do."""
    return re.findall(r"\bdiv\.(?:full|approx)\.[a-z0-9.]+", ptx)


def compile_kernels(arch: int, block: int = 128, num_warps: int = 4, only=None):
    """Compile every kernel variant (or the one named ``only``, e.g. ``"forward[fp32]"``) for
    ``sm_<arch>``; returns ``{name: compiled kernel}`` (``.asm["cubin"]``, ``.asm["ttir"]``, ...)."""
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    from .scan import mtc_backward_kernel, mtc_forward_kernel

    target = GPUTarget("cuda", arch, 32)
    opts = {"num_warps": num_warps, "enable_fp_fusion": True}
    out = {}
    for xd, sd in DTYPES:
        ptr = lambda names, d: {n: "*" + d for n in names}
        fwd_ptrs = {**ptr(("x_ptr", "y_ptr"), xd), **ptr(("p_ptr", "s0_ptr", "sT_ptr", "ck_ptr"), sd)}
        cons = {"BLOCK": block, "INTERPRET": False}
        sig = _signature(mtc_forward_kernel, fwd_ptrs, _INTS + ("sxt", "sxb"), cons)
        if only in (None, f"forward[{xd}]"):
            k = triton.compile(ASTSource(mtc_forward_kernel, sig, constexprs=cons), target=target, options=opts)
            out[f"forward[{xd}]"] = k
        for gy, has_gst in ((0, True), (1, True), (2, False)):
            name = f"backward[{xd},gy={gy},gstate_T={has_gst}]"
            if only not in (None, name):
                continue
            bwd_ptrs = {**ptr(("x_ptr", "gy_ptr", "gx_ptr"), xd),
                        **ptr(("p_ptr", "ck_ptr", "gsT_ptr", "part_ptr", "gs0_ptr", "scr_ptr"), sd)}
            cons = {"BLOCK": block, "INTERPRET": False, "GY": gy, "HAS_GST": has_gst}
            sig = _signature(mtc_backward_kernel, bwd_ptrs, _INTS + ("sxt", "sxb", "sgt", "sgb"), cons)
            k = triton.compile(ASTSource(mtc_backward_kernel, sig, constexprs=cons), target=target, options=opts)
            out[name] = k
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", type=int, nargs="+", default=[80, 90])
    args = ap.parse_args(argv)
    if os.environ.get("TRITON_INTERPRET", "0") == "1":
        sys.exit("unset TRITON_INTERPRET: interpreted kernels cannot be compiled")
    problems = 0
    for arch in args.arch:
        for name, k in compile_kernels(arch).items():
            bad = narrow_offsets(k.asm["ttir"])
            approx = approximate_divisions(k.asm["ptx"])
            problems += len(bad) + len(approx)
            print(f"sm_{arch} {name}: cubin {len(k.asm['cubin'])} bytes, "
                  + ("every pointer offset 64-bit" if not bad else f"{len(bad)} NARROW pointer offsets")
                  + (", every division correctly rounded" if not approx else f", {len(approx)} APPROXIMATE divisions"))
            for line in bad + approx:
                print("    " + line)
    if problems:
        sys.exit(f"{problems} narrow pointer offsets or approximate divisions")


if __name__ == "__main__":
    main()
