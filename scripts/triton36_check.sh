#!/usr/bin/env bash
# The Triton kernels under Triton 3.6, the version on the GPU machine (the tests' own Triton
# is the newest): they must lower to sm_80/sm_90 there too (every pointer offset 64-bit,
# every division correctly rounded), pass the interpreter tests against the reference, and
# give bench/sass_budget.py's instruction count for that Triton.
#
#   bash scripts/triton36_check.sh [TARGET_DIR]
#
# Triton 3.6 (and numpy < 2.4, which its interpreter needs) go into TARGET_DIR, put first on
# PYTHONPATH; nothing else changes. Exit status 3 when they cannot be installed here.
set -uo pipefail
cd "$(dirname "$0")/.."
TARGET=${1:-$(mktemp -d)}
if ! pip install --quiet --disable-pip-version-check --no-deps --target "$TARGET" "triton==3.6.0" "numpy<2.4"; then
    echo "triton 3.6 check skipped: triton==3.6.0 / numpy<2.4 cannot be installed here"; exit 3
fi
export PYTHONPATH="$TARGET${PYTHONPATH:+:$PYTHONPATH}"
python -c "import triton, numpy; print('triton', triton.__version__, 'numpy', numpy.__version__)"
python -c "import triton; assert triton.__version__.startswith('3.6'), triton.__version__" || exit 1
set -e
python -m pytest -q -p no:cacheprovider -W ignore::DeprecationWarning -k "triton or budget" tests/test_fused_vs_reference.py \
    tests/test_properties.py tests/test_triton_lowering.py tests/test_sass_budget.py
python bench/sass_budget.py 2>/dev/null | grep "^triton"
