"""Finding nvcc and compiling csrc/cuda with it: used by setup.py (the ``mtc_kernels._cuda``
module) and by tests/test_cuda_build.py (the same flags, in CI without a GPU).

Environment:
* ``MTC_BUILD_CUDA``: ``1`` build the CUDA module (fail without nvcc), ``0`` never, unset: when
  nvcc is found.
* ``MTC_CUDA_ARCHS``: compute capabilities, ``;`` or ``,`` separated (default ``80;90``); the
  last one is also embedded as PTX, so newer GPUs JIT-compile it.
* ``CUDA_HOME`` / ``CUDA_PATH``: the toolkit (default: from nvcc on PATH, or /usr/local/cuda).
"""
from __future__ import annotations

import os
import shutil
import subprocess
from typing import List, Optional

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
