#!/usr/bin/env bash
# Runs every vigil benchmark: the microbenchmarks (vigil_bench) and the
# cluster benchmarks (real agents on loopback). Usage:
#   tests/bench/run_all.sh [BUILD_DIR] [cluster_bench.py options...]
# BUILD_DIR defaults to "build". Results are printed and also written to
# BUILD_DIR/bench/ (vigil_bench.json, cluster_bench.json).
# Extra flags for vigil_bench go in $VIGIL_BENCH_FLAGS, e.g.
#   VIGIL_BENCH_FLAGS="--benchmark_repetitions=5" tests/bench/run_all.sh build
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${1:-build}"
shift || true
case "$build" in /*) ;; *) build="$root/$build" ;; esac

bench="$build/bin/vigil_bench"
vigil="$build/bin/vigil"
for exe in "$bench" "$vigil"; do
  if [[ ! -x "$exe" ]]; then
    echo "run_all.sh: $exe not found; build first (make build, or ninja -C $build vigil vigil_bench)" >&2
    exit 2
  fi
done
out="$build/bench"
mkdir -p "$out"

echo "== microbenchmarks: $bench"
# shellcheck disable=SC2086
"$bench" --benchmark_out="$out/vigil_bench.json" --benchmark_out_format=json \
  ${VIGIL_BENCH_FLAGS:-}

echo
echo "== cluster benchmarks: $vigil"
python3 "$here/cluster_bench.py" --vigil "$vigil" --json "$out/cluster_bench.json" "$@"
echo
echo "results: $out/vigil_bench.json $out/cluster_bench.json"
