#!/usr/bin/env bash
# The GPU check, in one call of at most ~8 minutes on a lent GPU machine (no network):
#   bash bench/gpu_check.sh OUTDIR
# 1. builds the package with the CUDA module (pybind11 and pytest-benchmark from wheels/ if
#    they are not installed: `pip download pybind11 pytest-benchmark py-cpuinfo -d wheels/`
#    here, then carry wheels/ to the GPU machine),
# 2. runs the GPU-marked tests (Triton and CUDA backends against python_ref on CUDA tensors),
# 3. runs bench/gpu_bench.py at the issue sizes,
# 4. runs the benchmark suite on the GPU (pytest bench/ --bench-device cuda),
# writing OUTDIR/gpu_check.log, OUTDIR/pytest_gpu.txt, OUTDIR/gpu_bench.json and
# OUTDIR/bench/results.{json,md}. Each step has its own timeout (590 s in all).
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
MTC_BUILD_CUDA=1 timeout 180 pip install --no-build-isolation --no-deps -e . || echo "BUILD FAILED"
timeout 150 python -m pytest -q -m gpu tests/test_gpu.py -rs 2>&1 | tee "$OUT/pytest_gpu.txt"
timeout 120 python bench/gpu_bench.py --json "$OUT/gpu_bench.json"
timeout 140 python -m pytest -q -p no:cacheprovider bench/ --bench-device cuda --bench-out "$OUT/bench" \
    -k "head or sweep_BN or memory" 2>&1 | tail -80
date
