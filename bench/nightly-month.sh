#!/usr/bin/env bash
# A simulated month of the differential nightly, to look at: 30 nights of five tests, `sign`
# 15 % slower from night 12 on, the runner replaced by one twice as fast from night 20 on (no
# step in the chained trends). The unit test that checks this month's report leaves its files
# in OUT_DIR: the history (nightly.history.jsonl), a results file, and the reports it rendered
# (nightly-month.html, nightly-month.md). The report is then made again by the command itself,
# as a user would: `wasmgate report results.json --nightly-history nightly.history.jsonl`.
#
#   bench/nightly-month.sh [OUT_DIR]     (default: ./nightly-month)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-nightly-month}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
WASMGATE_NIGHTLY_MONTH="$out" cargo test --release -q --lib \
  cli::report::tests::a_nightly_month_renders_its_chained_trends >/dev/null
cargo build --release -q
target/release/wasmgate report "$out/results.json" \
  --nightly-history "$out/nightly.history.jsonl" --format terminal
echo "open $out/nightly-month.html"
