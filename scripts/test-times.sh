#!/usr/bin/env bash
# Where a `cargo test` run's minutes went: each test binary's wall time as libtest reports it
# ("finished in N s"), longest first, and their sum. Reads the run's output (a file, or stdin).
#
#   scripts/test-times.sh target/ci-tests.log
set -euo pipefail
awk '
  /^ *Running / { name = ($2 == "unittests") ? "unit tests " $3 : $2 }
  /^ *Doc-tests / { name = "doc-tests " $2 }
  /^test result: / {
    seconds = $0
    sub(/.*finished in /, "", seconds)
    sub(/s$/, "", seconds)
    tests = $0
    sub(/^test result: [a-zA-Z]+\. /, "", tests)
    sub(/;.*/, "", tests)
    printf "%9.1f s  %-32s %s\n", seconds, name, tests
    total += seconds
  }
  END { printf "%9.1f s  all test binaries\n", total }
' "${1:-/dev/stdin}" | sort -rn
