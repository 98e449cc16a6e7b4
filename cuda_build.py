"""Finding nvcc and compiling csrc/cuda with it: used by setup.py (the ``mtc_kernels._cuda``
module) and by tests/test_cuda_build.py (the same flags, in CI without a GPU). Also builds
the host emulation of the same kernels (``build_host_emulation``: csrc/cuda/launch.h), which
the tests run on the CPU.

Environment:
* ``MTC_BUILD_CUDA``: ``1`` build the CUDA module (fail without nvcc), ``0`` never, unset: when
  nvcc is found.
* ``MTC_CUDA_ARCHS``: compute capabilities, ``;`` or ``,`` separated (default ``80;90``); the
  last one is also embedded as PTX, so newer GPUs JIT-compile it.
* ``CUDA_HOME`` / ``CUDA_PATH``: the toolkit (default: from nvcc on PATH, or /usr/local/cuda).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sysconfig
from typing import List, Optional, Sequence

CUDA_SOURCES = ["csrc/cuda/mtc_cuda.cu"]
DEFAULT_ARCHS = "80;90"


def find_nvcc() -> Optional[str]:
    for var in ("CUDA_HOME", "CUDA_PATH"):
        home = os.environ.get(var)
        if home and os.path.exists(os.path.join(home, "bin", "nvcc")):
            return os.path.join(home, "bin", "nvcc")
    return shutil.which("nvcc") or (
        "/usr/local/cuda/bin/nvcc" if os.path.exists("/usr/local/cuda/bin/nvcc") else None)


def cuda_home(nvcc: str) -> str:
    """The toolkit directory of ``nvcc`` (which may be a wrapper script)."""
    for var in ("CUDA_HOME", "CUDA_PATH"):
        if os.environ.get(var):
            return os.environ[var]
    home = os.path.dirname(os.path.dirname(os.path.realpath(nvcc)))
    if os.path.exists(os.path.join(home, "include", "cuda_runtime.h")):
        return home
    return "/usr/local/cuda"


def archs() -> List[int]:
    spec = os.environ.get("MTC_CUDA_ARCHS", DEFAULT_ARCHS).replace(",", ";")
    return [int(a.strip().replace("sm_", "").replace(".", "")) for a in spec.split(";") if a.strip()]


def nvcc_flags(arch_list: List[int]) -> List[str]:
    flags = ["-std=c++17", "-O3", "-Xcompiler", "-fPIC", "--expt-relaxed-constexpr"]
    for a in arch_list:
        flags += ["-gencode", f"arch=compute_{a},code=sm_{a}"]
    flags += ["-gencode", f"arch=compute_{arch_list[-1]},code=compute_{arch_list[-1]}"]
    return flags


def compile_objects(nvcc: str, root: str, out_dir: str, arch_list: Optional[List[int]] = None) -> List[str]:
    """Compile CUDA_SOURCES into ``out_dir``; returns the object paths. Raises on failure."""
    arch_list = arch_list or archs()
    os.makedirs(out_dir, exist_ok=True)
    objs = []
    for src in CUDA_SOURCES:
        obj = os.path.join(out_dir, os.path.basename(src) + ".o")
        cmd = [nvcc, *nvcc_flags(arch_list), "-I", os.path.join(root, "csrc"), "-c", os.path.join(root, src), "-o", obj]
        subprocess.run(cmd, check=True)
        objs.append(obj)
    return objs


def link_libraries(home: str):
    """(library_dirs, libraries): the CUDA runtime linked statically (no libcudart at run time;
    the driver, libcuda, is loaded when the first CUDA call is made)."""
    dirs = [d for d in (os.path.join(home, "lib64"), os.path.join(home, "lib")) if os.path.isdir(d)]
    return dirs, ["cudart_static", "rt", "pthread", "dl"]


#: The host-emulation module: the CUDA kernels and their binding compiled by the host C++
#: compiler (``-x c++``), with host_emulation.cpp standing in for the CUDA runtime.
EMULATION_SOURCES = ["csrc/bind_cuda.cpp", "csrc/cuda/mtc_cuda.cu", "csrc/cuda/host_emulation.cpp"]
EMULATION_DEPENDS = ["csrc/mtc_step.h", "csrc/cuda/mtc_cuda.h", "csrc/cuda/launch.h", "csrc/cuda/host_emulation.h"]
EMULATION_MODULE = "_cuda_emu"


def cuda_include_dir() -> Optional[str]:
    """The CUDA toolkit's include directory (the emulation needs its cuda_fp16.h/cuda_bf16.h
    and runtime types, not a GPU), or None where there is no toolkit."""
    nvcc = find_nvcc()
    homes = [cuda_home(nvcc)] if nvcc else []
    homes += [h for h in (os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH"), "/usr/local/cuda") if h]
    for home in homes:
        inc = os.path.join(home, "include")
        if os.path.exists(os.path.join(inc, "cuda_fp16.h")) and os.path.exists(os.path.join(inc, "cuda_runtime_api.h")):
            return inc
    return None


def build_host_emulation(root: str, out_dir: str, extra_flags: Sequence[str] = (), cxx: Optional[str] = None) -> str:
    """Compile the CUDA kernels for the CPU (``MTC_CUDA_HOST_EMULATION``) into an importable
    pybind11 module ``_cuda_emu`` under ``out_dir``; returns its path. A build with the same
    sources and flags is reused. Raises RuntimeError where there are no CUDA headers and
    CalledProcessError when the compiler fails."""
    import pybind11

    inc = cuda_include_dir()
    if inc is None:
        raise RuntimeError("no CUDA toolkit headers (cuda_fp16.h) found: set CUDA_HOME")
    cxx = cxx or os.environ.get("CXX", "c++")
    flags = ["-std=c++17", "-O2", "-fPIC", "-shared", "-ffp-contract=off", *extra_flags]
    digest = hashlib.sha256(repr((cxx, flags, inc)).encode())
    for rel in EMULATION_SOURCES + EMULATION_DEPENDS:
        with open(os.path.join(root, rel), "rb") as f:
            digest.update(f.read())
    target_dir = os.path.join(out_dir, digest.hexdigest()[:16])
    target = os.path.join(target_dir, EMULATION_MODULE + sysconfig.get_config_var("EXT_SUFFIX"))
    if os.path.exists(target):
        return target
    os.makedirs(target_dir, exist_ok=True)
    srcs = []
    for rel in EMULATION_SOURCES:  # the .cu file as C++
        srcs += (["-x", "c++"] if rel.endswith(".cu") else ["-x", "none"]) + [os.path.join(root, rel)]
    tmp = target + ".tmp"
    cmd = [cxx, *flags, "-DMTC_CUDA_HOST_EMULATION", f"-DMTC_CUDA_MODULE={EMULATION_MODULE}",
           "-I", os.path.join(root, "csrc"), "-I", inc, "-I", pybind11.get_include(),
           "-I", sysconfig.get_paths()["include"], *srcs, "-o", tmp]
    subprocess.run(cmd, check=True)
    os.replace(tmp, target)  # atomic: a concurrent build never imports half a file
    return target
