#!/usr/bin/env bash
# Run every benchmark in turn (each prints its own baseline and ratios).
set -euo pipefail
cd "$(dirname "$0")/.."
for bench in bench_startup bench_layout bench_cpp bench_exec bench_matrix bench_report bench_host bench_shim bench_cold; do
    echo "=== $bench"
    python3 "benchmarks/$bench.py"
done
