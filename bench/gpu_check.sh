#!/usr/bin/env bash
# The GPU check, in one call of at most ~8 minutes on a lent GPU machine (no network):
#   bash bench/gpu_check.sh OUTDIR
# 1. builds the package with the CUDA module (pybind11 from wheels/ if it is not installed:
#    carry it there with `pip download pybind11 -d wheels/`),
# 2. runs the GPU-marked tests (Triton and CUDA backends against python_ref on CUDA tensors),
# 3. runs bench/gpu_bench.py at the issue sizes,
# writing OUTDIR/gpu_check.log, OUTDIR/pytest_gpu.txt and OUTDIR/gpu_bench.json.
# Copy the JSON to bench/results/gpu_<machine>_<date>.json in the repository.
set -u
OUT=${1:?usage: bash bench/gpu_check.sh OUTDIR}
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu_check.log") 2>&1
cd "$(dirname "$0")/.."
date; nvidia-smi -L || true
python -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__)"
python -c "import pybind11" 2>/dev/null || pip install --no-index --find-links wheels pybind11
MTC_BUILD_CUDA=1 timeout 240 pip install --no-build-isolation --no-deps -e . || echo "BUILD FAILED"
timeout 200 python -m pytest -q -m gpu tests/test_gpu.py -rs 2>&1 | tee "$OUT/pytest_gpu.txt"
timeout 200 python bench/gpu_bench.py --json "$OUT/gpu_bench.json"
date
