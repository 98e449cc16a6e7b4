"""Build script: the Python packages plus the compiled kernels.

* ``mtc_kernels._cpu``: the fused CPU kernels (C++17, pybind11 on raw pointers, OpenMP when
  the compiler has it). Always built.

Environment switches:

* ``MTC_NO_OPENMP=1``  build the CPU kernels without OpenMP (single-threaded, still correct).
* ``MTC_NATIVE=1``     compile the CPU kernels for this machine's ISA (``-march=native``);
  the default is a portable binary with runtime dispatch to AVX-512/AVX2 clones.
"""
import os
import shutil
import subprocess
import sys
import tempfile

from setuptools import find_packages, setup
from setuptools.command.build_ext import build_ext

from pybind11.setup_helpers import Pybind11Extension

HERE = os.path.dirname(os.path.abspath(__file__))


def _env_flag(name, default=None):
    val = os.environ.get(name)
    if val is None or val == "":
        return default
    return val.strip().lower() in ("1", "true", "yes", "on")


def _compiler_accepts(compiler_cmd, flags):
    """Whether the C++ compiler compiles and links a tiny OpenMP program with `flags`."""
    src = "#include <omp.h>\nint main() { return omp_get_max_threads() > 0 ? 0 : 1; }\n"
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "t.cpp")
        with open(path, "w") as f:
            f.write(src)
        cmd = list(compiler_cmd) + flags + [path, "-o", os.path.join(d, "t")]
        try:
            return subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
        except OSError:
            return False


class BuildExt(build_ext):
    """Adds OpenMP to the CPU extension when the compiler supports it."""

    def build_extensions(self):
        cxx = getattr(self.compiler, "compiler_cxx", None) or ["c++"]
        use_omp = not _env_flag("MTC_NO_OPENMP", False) and _compiler_accepts(cxx, ["-fopenmp"])
        for ext in self.extensions:
            if ext.name == "mtc_kernels._cpu" and use_omp:
                ext.extra_compile_args.append("-fopenmp")
                ext.extra_link_args.append("-fopenmp")
        if not use_omp:
            print("mtc-kernels: building the CPU kernels WITHOUT OpenMP (single-threaded)", file=sys.stderr)
        super().build_extensions()


# No -ffast-math (NaNs must propagate); no FMA contraction (results independent of the ISA
# clone); -fno-trapping-math so the branch-free selects vectorise (see csrc/cpu/mtc_cpu.cpp).
cpu_flags = ["-O3", "-ffp-contract=off", "-fno-math-errno", "-fno-trapping-math"]
if _env_flag("MTC_NATIVE", False):
    cpu_flags += ["-march=native", "-DMTC_NO_CLONES"]

ext_modules = [
    Pybind11Extension(
        "mtc_kernels._cpu",
        sources=["csrc/bind_cpu.cpp", "csrc/cpu/mtc_cpu.cpp"],
        include_dirs=["csrc"],
        depends=["csrc/mtc_step.h", "csrc/cpu/mtc_cpu.h", "csrc/cpu/fast_tanh.h"],
        extra_compile_args=list(cpu_flags),
        cxx_std=17,
    )
]

setup(
    name="mtc-kernels",
    version="0.1.0",
    description="Fused CPU/Triton/CUDA kernels for multi-timescale conductance (MTC) spiking neurons",
    long_description=open(os.path.join(HERE, "README.md")).read() if os.path.exists(os.path.join(HERE, "README.md")) else "",
    long_description_content_type="text/markdown",
    packages=find_packages(include=["mtc_kernels", "mtc_kernels.*", "python_ref", "python_ref.*"]),
    python_requires=">=3.9",
    install_requires=["torch>=2.4", "numpy"],
    extras_require={
        # triton + numpy: the Triton kernels are tested on the CPU through Triton's interpreter.
        "test": ["pytest>=7", "pytest-benchmark>=4", "hypothesis>=6", "matplotlib", "triton>=3.6", "numpy"],
        "triton": ["triton>=3.6"],
        "plots": ["matplotlib"],
    },
    ext_modules=ext_modules,
    cmdclass={"build_ext": BuildExt},
    zip_safe=False,
)
