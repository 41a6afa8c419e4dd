#!/usr/bin/env bash
# GPU check, in one script that finishes in under 8 minutes on a GPU machine:
#   1. the CUDA test subset (`pytest -m cuda`: transformer training and scoring
#      for each loss on device="cuda", EASE on torch-cuda, ALS use_gpu where
#      implicit has CUDA);
#   2. one-epoch timings of the transformer on Amazon Beauty, CPU vs CUDA, for
#      each loss (benchmarks/gpu_timings.py);
# and writes <output>/gpu_check.json and .md with the device name.
# GPU_CHECK_PYTEST_S / GPU_CHECK_TIMINGS_S change the two parts' time limits.
#
#   bash benchmarks/gpu_check.sh                          # results in benchmarks/results
#   bash benchmarks/gpu_check.sh --quick --output DIR     # CI's smoke run (small data)
#
# Without a CUDA device it runs in CPU mode: the CUDA tests are collected and
# skipped (their summary says so), the CUDA timings are marked skipped, and the
# CPU timings still run, so the script is known to work before a GPU is lent.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=""
output="benchmarks/results"
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) quick="--quick"; shift ;;
        --output) output="$2"; shift 2 ;;
        *) echo "usage: $0 [--quick] [--output DIR]" >&2; exit 2 ;;
    esac
done
mkdir -p "$output"
start=$(date +%s)

if python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo "gpu_check: CUDA device: $(python -c 'import torch; print(torch.cuda.get_device_name(0))')"
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
else
    echo "gpu_check: no CUDA device (torch.cuda.is_available() is False): CPU mode, the CUDA parts are skipped"
fi

# Time limits of the two parts (seconds); a loaded machine may need more.
pytest_limit="${GPU_CHECK_PYTEST_S:-300}"
timings_limit="${GPU_CHECK_TIMINGS_S:-360}"

# 1. The CUDA tests (the test files that mark any), with nothing else: on a
#    machine without CUDA every one of them skips itself.
log="$output/gpu_check_pytest.log"
mapfile -t files < <(grep -l "pytest.mark.cuda" tests/test_*.py)
set +e
timeout "$pytest_limit" python -m pytest -m cuda -q -p no:cacheprovider -o addopts="-rs" "${files[@]}" > "$log" 2>&1
status=$?
set -e
summary=$(grep -E "(passed|failed|skipped|error|no tests ran)" "$log" | tail -n 1 | sed 's/=//g; s/^ *//; s/ *$//' || true)
echo "gpu_check: pytest -m cuda on ${files[*]}: ${summary:-no summary} (exit $status; log $log)"
if [ "$status" -eq 124 ]; then
    echo "gpu_check: the CUDA tests ran past ${pytest_limit} s (GPU_CHECK_PYTEST_S)" >&2
fi
if [ "$status" -ne 0 ]; then
    tail -n 40 "$log" >&2
    exit "$status"
fi

# 2. One-epoch timings, CPU vs CUDA, each loss.
timeout "$timings_limit" python benchmarks/gpu_timings.py $quick --output "$output" --pytest-summary "$summary"
echo "gpu_check: done in $(( $(date +%s) - start )) s; results in $output/gpu_check.md"
