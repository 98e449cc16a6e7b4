#!/usr/bin/env bash
# Memory safety of the compiled kernels: build mtc_kernels._cpu, and the host emulation of
# the CUDA kernels (tests/cuda_emulation.py, where the CUDA headers are), with
# AddressSanitizer and UndefinedBehaviorSanitizer into a scratch copy of the package, then
# run the kernel tests against them (the fused-vs-reference, property-based and large-index
# tests).
#
#   bash scripts/sanitize_check.sh [SCRATCH_DIR]
#
# Python itself is not instrumented, so libasan is preloaded; leak detection is off
# (CPython and torch keep allocations alive at exit by design). Any sanitizer report
# aborts the run with a non-zero exit (halt_on_error / -fno-sanitize-recover).
set -euo pipefail
cd "$(dirname "$0")/.."
SCRATCH=${1:-$(mktemp -d)}
CXX=${CXX:-c++}
mkdir -p "$SCRATCH"
cp -r mtc_kernels python_ref tests csrc cuda_build.py "$SCRATCH"/
rm -f "$SCRATCH"/mtc_kernels/_cpu*.so "$SCRATCH"/mtc_kernels/_cuda*.so
SUFFIX=$(python -c "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))")
OMP=$($CXX -fopenmp -x c++ -E /dev/null >/dev/null 2>&1 && echo -fopenmp || true)
echo "building the sanitized CPU extension ($CXX, ${OMP:-no OpenMP})"
# The release flags (setup.py) plus the sanitizers; -O1 keeps the reports readable.
$CXX -std=c++17 -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
    -ffp-contract=off -fno-math-errno -fno-trapping-math $OMP -shared -fPIC \
    $(python -m pybind11 --includes) -Icsrc csrc/bind_cpu.cpp csrc/cpu/mtc_cpu.cpp \
    -o "$SCRATCH/mtc_kernels/_cpu$SUFFIX"
# The CUDA kernels' host emulation, same sanitizers (tests/cuda_emulation.py finds this build
# by its flags; built here, before the sanitizer runtimes are preloaded).
export MTC_CUDA_EMU_FLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"
# (Without importing mtc_kernels: its sanitized _cpu module needs the preloaded runtimes.)
EMU=$(cd "$SCRATCH" && python -c "
import os, shlex, cuda_build
flags = shlex.split(os.environ['MTC_CUDA_EMU_FLAGS'])
print(cuda_build.build_host_emulation('.', 'build/cuda_emu', flags) if cuda_build.cuda_include_dir() else '')")
echo "CUDA kernels' host emulation: ${EMU:-not built (no CUDA headers)}"
ASAN_LIB=$($CXX -print-file-name=libasan.so)
UBSAN_LIB=$($CXX -print-file-name=libubsan.so)
cd "$SCRATCH"
export PYTHONPATH="$SCRATCH" TRITON_INTERPRET=1 MTC_EXPECT_CPU_MODULE="$SCRATCH/mtc_kernels/_cpu$SUFFIX"
export ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
LD_PRELOAD="$ASAN_LIB $UBSAN_LIB" python - <<'PY'
import os, mtc_kernels._cpu as m
assert os.path.samefile(m.__file__, os.environ["MTC_EXPECT_CPU_MODULE"]), m.__file__
print("using", m.__file__)
PY
# Self-test: the check must be able to fail. A forward into a y buffer one step too short
# must be reported as a heap-buffer-overflow, by the CPU kernel and by the emulated CUDA one.
# (abort_on_error=0 here: ASan exits with status 1 instead of raising SIGABRT.)
selftest() {  # selftest NAME: NAME is cpu, or a path to the emulation module
    if ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:abort_on_error=0 LD_PRELOAD="$ASAN_LIB $UBSAN_LIB" \
        KERNEL="$1" python - 2>"$SCRATCH/selftest.txt" <<'PY'
import ctypes, importlib.util, os, torch, mtc_kernels as M
T, B, N = 4, 1, 256
p, s0 = M.preset_params("bursting", N), torch.zeros(4, B, N)
x, y = ctypes.create_string_buffer(4 * T * B * N), ctypes.create_string_buffer(4 * (T - 1) * B * N)
sT, ck = torch.empty(4, B, N), torch.empty(1, 4, B, N)
args = (ctypes.addressof(x), B * N, N, p.data_ptr(), s0.data_ptr(), ctypes.addressof(y),
        sT.data_ptr(), ck.data_ptr(), T, B, N, T)
if os.environ["KERNEL"] == "cpu":
    from mtc_kernels import _cpu
    _cpu.forward_f32(*args, 1)
else:
    spec = importlib.util.spec_from_file_location("_cuda_emu", os.environ["KERNEL"])
    lib = importlib.util.module_from_spec(spec); spec.loader.exec_module(lib)
    lib.forward(lib.F32, 0, 0, *args)
PY
    then
        echo "sanitizer self-test FAILED ($1): an out-of-bounds write went unreported"; exit 1
    fi
    grep -q "heap-buffer-overflow" "$SCRATCH/selftest.txt" || { cat "$SCRATCH/selftest.txt"; exit 1; }
    echo "self-test ($1): the deliberate overflow was reported"
}
selftest cpu
if [ -n "$EMU" ]; then selftest "$EMU"; fi
LD_PRELOAD="$ASAN_LIB $UBSAN_LIB" python -m pytest -q -p no:cacheprovider -k "not triton" \
    tests/test_fused_vs_reference.py tests/test_properties.py tests/test_large_index.py tests/test_validation.py
echo "sanitizers: no errors"
