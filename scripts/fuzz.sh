#!/usr/bin/env bash
# Runs each libFuzzer target for FUZZ_SECONDS (default 25) from its checked-in seed corpus,
# fuzz/corpus/<target>/ (which also holds the inputs of past crashes, so they are re-run first).
# New inputs go to a scratch directory; the checked-in corpus is not modified. A crash fails the
# script and leaves the reproducer in <build>/fuzz-artifacts/.
# Usage: scripts/fuzz.sh [build-dir]   (configured with -DTESSERA_FUZZ=ON; default build-asan)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-asan}
seconds=${FUZZ_SECONDS:-25}
artifacts="$build/fuzz-artifacts"
mkdir -p "$artifacts"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for target in library image cli; do
  scratch=$(mktemp -d)
  log="$artifacts/$target.log"
  if ! "$build/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$artifacts/$target-" "$scratch" "fuzz/corpus/$target" \
      >"$log" 2>&1; then
    grep -v -e 'WARNING \*\*' -e '^$' "$log" | tail -40
    echo "fuzz: $target failed; reproducer in $artifacts (run: $build/fuzz/fuzz_$target FILE)" >&2
    rm -rf "$scratch"
    exit 1
  fi
  rm -rf "$scratch"
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  echo "fuzz: $target: $runs runs in ${seconds} s ($rate/s), no crash"
done
