"""Build script: the Python packages plus the compiled kernels.

* ``mtc_kernels._cpu``: the fused CPU kernels (C++17, pybind11 on raw pointers, OpenMP when
  the compiler has it). Always built.
* ``mtc_kernels._cuda``: the fused CUDA kernels (csrc/cuda compiled by nvcc, a pybind11 module
  on raw device pointers linking only the static CUDA runtime). Built when nvcc is found;
  ``MTC_BUILD_CUDA=0/1`` forces it off/on, ``MTC_CUDA_ARCHS`` picks the GPUs (default
  ``80;90`` plus PTX): see cuda_build.py.

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
sys.path.insert(0, HERE)
import cuda_build  # noqa: E402  (the repository's nvcc helper)


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
            if ext.name == "mtc_kernels._cuda":
                objs = cuda_build.compile_objects(NVCC, HERE, os.path.join(self.build_temp, "cuda"))
                ext.extra_objects.extend(objs)
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

_build_cuda = _env_flag("MTC_BUILD_CUDA", None)
NVCC = cuda_build.find_nvcc() if _build_cuda is not False else None
if _build_cuda and NVCC is None:
    sys.exit("mtc-kernels: MTC_BUILD_CUDA=1 but nvcc was not found (set CUDA_HOME or put nvcc on PATH)")
if NVCC is not None:
    _lib_dirs, _libs = cuda_build.link_libraries(cuda_build.cuda_home(NVCC))
    ext_modules.append(
        Pybind11Extension(
            "mtc_kernels._cuda",
            sources=["csrc/bind_cuda.cpp"],
            include_dirs=["csrc"],
            depends=["csrc/mtc_step.h", "csrc/cuda/mtc_cuda.h", "csrc/cuda/mtc_cuda.cu"],
            library_dirs=_lib_dirs,
            libraries=_libs,
            extra_compile_args=["-O2"],
            cxx_std=17,
        )
    )
else:
    print("mtc-kernels: nvcc not found, building without the CUDA backend", file=sys.stderr)

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
        # NeuroBench's Mackey-Glass task (mtc_kernels.experiments.neurobench_mg); jitcdde generates the series.
        "neurobench": ["neurobench[mackey-glass]>=2.3", "matplotlib"],
    },
    ext_modules=ext_modules,
    cmdclass={"build_ext": BuildExt},
    zip_safe=False,
)
