#!/usr/bin/env bash
# The GPU check, in one call of at most ~8 minutes on a lent GPU machine (no network):
#   bash bench/gpu_check.sh OUTDIR
# 1. builds the package with the CUDA module (pybind11 and pytest-benchmark from wheels/ if
#    they are not installed: `pip download pybind11 pytest-benchmark py-cpuinfo -d wheels/`
#    here, then carry wheels/ to the GPU machine),
# 2. runs the GPU-marked tests (Triton and CUDA backends against python_ref on CUDA tensors),
# 3. runs bench/gpu_bench.py at the issue sizes, then bench/sass_budget.py with this GPU's
#    SM count, clock and measured copy bandwidth (the forward's instruction-issue ceiling),
# 4. runs the benchmark suite on the GPU (pytest bench/ --bench-device cuda),
# writing OUTDIR/gpu_check.log, OUTDIR/pytest_gpu.txt, OUTDIR/gpu_bench.json,
# OUTDIR/sass_budget.json and OUTDIR/bench/results.{json,md}. Each step has its own timeout
# (580 s in all; what a step wrote before its timeout stays).
# Copy the JSON to bench/results/gpu_<machine>_<date>.json in the repository.
set -u
OUT=${1:?usage: bash bench/gpu_check.sh OUTDIR}
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu_check.log") 2>&1
cd "$(dirname "$0")/.."
date; nvidia-smi -L || true
python -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__)"
python -c "import pybind11" 2>/dev/null || pip install --no-index --find-links wheels pybind11
python -c "import pytest_benchmark" 2>/dev/null || pip install --no-index --find-links wheels pytest-benchmark
MTC_BUILD_CUDA=1 timeout 150 pip install --no-build-isolation --no-deps -e . || echo "BUILD FAILED"
# (one Triton configuration for the correctness tests: autotuning compiles each of them; no
# host emulation of the CUDA kernels, which the real ones replace here)
MTC_TRITON_AUTOTUNE=0 MTC_CUDA_EMU=0 timeout 150 python -m pytest -q -m gpu tests/test_gpu.py -rs 2>&1 | tee "$OUT/pytest_gpu.txt"
timeout 150 python bench/gpu_bench.py --json "$OUT/gpu_bench.json"
# The kernels' static instruction budget on this GPU (its SM count and maximum SM clock,
# the copy bandwidth just measured): the most the forward can move, for comparison.
BUDGET_ARGS=$(python - "$OUT/gpu_bench.json" <<'PY' 2>/dev/null
import json, subprocess, sys, torch
props = torch.cuda.get_device_properties(0)
clock = subprocess.run(["nvidia-smi", "--query-gpu=clocks.max.sm", "--format=csv,noheader,nounits"],
                       capture_output=True, text=True).stdout.split()[0]
copy = json.load(open(sys.argv[1]))["copy_bandwidth_Bps"] / 1e9
print(f"--arch {props.major}{props.minor} --sms {props.multi_processor_count} --clock-ghz {float(clock) / 1000} --copy-gbs {copy:.0f}")
PY
)
timeout 40 python bench/sass_budget.py ${BUDGET_ARGS:---arch 90} --json "$OUT/sass_budget.json"
timeout 90 python -m pytest -q -p no:cacheprovider bench/ --bench-device cuda --bench-out "$OUT/bench" \
    -k "head or sweep_BN or memory" 2>&1 | tail -80
date
