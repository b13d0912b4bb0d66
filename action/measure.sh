#!/usr/bin/env bash
# The action's measuring step: runs wasmgate for the mode and leaves the step outputs
# results, report, comparison (through wasmgate) and exit (here). Inputs come as WG_*
# environment variables, never spliced into the script, so no input can inject shell code.
set -uo pipefail

# Folds a long step's output under a title in GitHub's log, and always closes the fold (GitHub
# has no nested folds: one is open at a time). Returns the step's exit status.
group() {
  local title="$1" status=0
  shift
  echo "::group::$title"
  "$@" || status=$?
  echo "::endgroup::"
  return "$status"
}

# Runs `wasmgate ARGS` (a gate) in two folds, the suite's setup and build and then the
# measuring, and prints its table after them, where the log opens on it. The gate would build
# the suite itself; building it first only lets that part fold apart, the gate finds it cached.
measure() {
  # The runner's checks first, outside any fold: their warnings are annotations on the run's
  # page, and the lines stay in sight at the top of the log. They never fail the step.
  wasmgate "${config[@]}" doctor "${doctor_cores[@]}" || true
  group "Set up zig, wasm-opt and libsodium; build the suite" wasmgate "${config[@]}" build || return 2
  local table status=0
  table="$(mktemp)" || return 2
  echo "::group::Measure: install the runtimes and run them (budget ${WG_BUDGET:-as configured})"
  wasmgate "$@" > "$table" || status=$?
  echo "::endgroup::"
  cat "$table"
  rm -f "$table"
  return "$status"
}

# The cross-runtime report in markdown and HTML, with the histories given as ARGS; both are
# tried even when one fails.
reports() {
  local status=0
  wasmgate report wasmgate-results.json --then-now "$@" --format markdown --out wasmgate-report.md || status=2
  wasmgate report wasmgate-results.json --then-now "$@" --format html --out wasmgate-report.html || status=2
  return "$status"
}

# The differential nightly: tonight's binary against the kept builds of earlier nights, in one
# paired run. A build it measured goes into the kept-builds folder, which the next step saves
# (output kept); a commit measured already (exit 3: nothing merged since) is a quiet night.
nightly() {
  if [ -z "$WG_BINARY" ] || [ -z "$WG_ADAPTER" ]; then
    echo "::error::mode nightly with kept-builds needs the binary input (tonight's runtime) and the adapter input (e.g. wasmtime)"
    return 2
  fi
  local status=0
  measure "${config[@]}" nightly --adapter "$WG_ADAPTER" --binary "$WG_BINARY" --commit "$WG_COMMIT" \
    --kept "$WG_KEPT_BUILDS" --runner "$WG_RUNNER" "${sampling[@]}" --out wasmgate-nightly || status=$?
  case "$status" in
    0|1) echo "kept=true" >> "$GITHUB_OUTPUT" ;;
    3) echo "::notice::wasmgate: $WG_COMMIT was measured last night already; nothing to do"; status=0 ;;
  esac
  return "$status"
}

config=()
if [ -n "$WG_CONFIG" ]; then config=(--config "$WG_CONFIG"); fi
runtimes=()
while IFS= read -r line; do
  line="$(echo "$line" | xargs)"
  if [ -n "$line" ]; then runtimes+=(--runtime "$line"); fi
done <<< "$WG_RUNTIMES"
sampling=()
if [ -n "$WG_BUDGET" ]; then sampling+=(--budget "$WG_BUDGET"); fi
if [ -n "${WG_MEASURE:-}" ]; then sampling+=(--measure "$WG_MEASURE"); fi
# The counting measures count under Debian's valgrind: a hosted runner lacks it.
case "${WG_MEASURE:-}" in instructions|compile-instructions) counted=1 ;; *) counted=0 ;; esac
if [ "$counted" = 1 ] && ! command -v valgrind >/dev/null 2>&1; then
  group "Install valgrind (the instructions measure's counter)" \
    timeout 600 sh -c 'sudo apt-get update -qq && sudo apt-get install -y -qq valgrind' || exit 2
fi
# The evidence with a changed test profiles both sides with Linux perf: a gate against a base
# runtime, or a nightly with kept builds (a stored baseline has no binary to profile). Of run
# time, such a step installs perf when missing (Debian's linux-perf, or Ubuntu's tools for the
# running kernel); without it the verdicts stand, and the report says why there is no evidence.
profiled=0
if [ "$WG_MODE" = gate ] && [ -z "$WG_BASELINE" ]; then profiled=1; fi
if [ "$WG_MODE" = nightly ] && [ -n "$WG_KEPT_BUILDS" ]; then profiled=1; fi
if [ "$profiled" = 1 ] && [ "$counted" = 0 ] && [ "${WG_MEASURE:-time}" = time ] &&
  ! command -v perf >/dev/null 2>&1; then
  group "Install perf (the evidence's profiler)" timeout 600 sh -c \
    'sudo apt-get update -qq && { sudo apt-get install -y -qq linux-perf || sudo apt-get install -y -qq "linux-tools-$(uname -r)" linux-tools-common; }' ||
    echo "::warning::wasmgate: perf could not be installed: a changed test will have no evidence"
fi
doctor_cores=()
if [ -n "$WG_CORES" ]; then sampling+=(--cores "$WG_CORES"); doctor_cores=(--cores "$WG_CORES"); fi
head=()
label=()
if [ -n "$WG_HEAD" ]; then head=(--head "$WG_HEAD"); label=(--runtime "$WG_HEAD"); fi
files=(--out wasmgate-results.json --report wasmgate-report.md)

status=0
case "$WG_MODE" in
  gate)
    against=()
    if [ -n "$WG_BASELINE" ]; then against=(--baseline "$WG_BASELINE");
    elif [ -n "$WG_BASE" ]; then against=(--base "$WG_BASE");
    else echo "::error::mode gate needs the base input (a runtime label) or a baseline file"; exit 2; fi
    measure "${config[@]}" gate "${runtimes[@]}" "${sampling[@]}" "${files[@]}" "${against[@]}" "${head[@]}" || status=$?
    # The HTML report with each changed test's evidence (its functions and flame graphs).
    if [ -f wasmgate-results.comparison.json ]; then
      wasmgate report wasmgate-results.json --evidence wasmgate-results.comparison.json \
        --format html --out wasmgate-report.html && echo "html=$PWD/wasmgate-report.html" >> "$GITHUB_OUTPUT"
    fi
    ;;
  nightly)
    if [ -n "$WG_KEPT_BUILDS" ]; then
      nightly || status=$?
    else
      # The stored-baseline nightly, for a runtime whose binaries cannot be kept.
      baseline="$WG_BASELINE"
      if [ -z "$baseline" ]; then
        if [ -z "$WG_HEAD" ]; then echo "::error::mode nightly needs kept-builds (with binary and adapter), the head input (the runtime's label) or a baseline file"; exit 2; fi
        baseline="$(wasmgate "${config[@]}" baseline path --runtime "$WG_HEAD" --runner "$WG_RUNNER" --dir "$WG_BASELINE_DIR" --measure "${WG_MEASURE:-time}")" || exit 2
      fi
      measure "${config[@]}" gate "${runtimes[@]}" "${sampling[@]}" "${files[@]}" --baseline "$baseline" "${head[@]}" || status=$?
      if [ "$status" -le 1 ]; then
        wasmgate "${config[@]}" baseline history wasmgate-results.json "${label[@]}" \
          --runner "$WG_RUNNER" --dir "$WG_BASELINE_DIR" --comparison wasmgate-results.comparison.json || status=2
      fi
    fi
    ;;
  baseline-update)
    measure "${config[@]}" gate "${runtimes[@]}" "${sampling[@]}" "${files[@]}" || status=$?
    if [ "$status" -eq 0 ]; then
      wasmgate "${config[@]}" baseline update wasmgate-results.json "${label[@]}" \
        --runner "$WG_RUNNER" --dir "$WG_BASELINE_DIR" || status=2
    fi
    ;;
  report)
    measure "${config[@]}" gate "${runtimes[@]}" "${sampling[@]}" "${files[@]}" || status=$?
    if [ -f wasmgate-results.json ]; then
      # The cross-runtime report, beside the published 2023 results, with the trends of the
      # histories the nightly watch keeps for this runner's machine (when there are any).
      baseline="$(wasmgate "${config[@]}" baseline path --runtime any --runner "$WG_RUNNER" --dir "$WG_BASELINE_DIR")" || exit 2
      histories=()
      for history in "$(dirname "$baseline")"/*.history.jsonl; do
        if [ -f "$history" ]; then histories+=(--history "$history"); fi
      done
      group "Report: markdown and HTML" reports "${histories[@]}" || status=2
      echo "html=$PWD/wasmgate-report.html" >> "$GITHUB_OUTPUT"
    fi
    if [ -f wasmgate-report.md ] && [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
      cat wasmgate-report.md >> "$GITHUB_STEP_SUMMARY"
    fi
    ;;
  publish)
    # The fork-safe second half: the comparison comes from the gate's artifact.
    echo "comparison=$WG_COMPARISON" >> "$GITHUB_OUTPUT"
    ;;
  *)
    echo "::error::unknown mode '$WG_MODE': use gate, nightly, baseline-update, report or publish"
    exit 2
    ;;
esac
echo "exit=$status" >> "$GITHUB_OUTPUT"
exit 0
