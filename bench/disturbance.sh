#!/usr/bin/env bash
# Disturbance detection, measured: an A/A gate (`calibrate aa`) of 20 tests while a CPU hog
# takes the pinned core in alternating windows (WINDOW seconds on, WINDOW off), once with
# run.disturbance off and once on. Prints for each: samples marked disturbed, tests with a
# conclusive verdict, and false alarms (any change called between a runtime and itself).
# When the wasmtime CLI accepts `-O regalloc-algorithm=single-pass` (a real slowdown), the same
# is done with it as head against plain wasmtime, and the tests called regressions are counted:
# the detection rate under the same disturbance. Not a test: each mode takes BUDGET.
#
#   bench/disturbance.sh [BUDGET] [OUT_DIR]     (defaults: 8m per run, ./disturbance)
#   WINDOW=20 SLOWDOWN=0 bench/disturbance.sh   (window length; skip the slowdown runs)
set -euo pipefail
cd "$(dirname "$0")/.."
budget="${1:-8m}"
out="${2:-disturbance}"
window="${WINDOW:-20}"
core=$(( $(nproc) - 1 ))
tests=auth,auth2,auth3,auth6,box,box_easy,box_seal,box_seed,chacha20,codecs,generichash,generichash2,hash,hash3,kdf,onetimeauth,scalarmult,secretbox,shorthash,stream
mkdir -p "$out"
cargo build --release -q
wasmgate="$PWD/target/release/wasmgate"

# The two configurations: the default, and the same with detection off.
"$wasmgate" config show > "$out/on.yml"
sed '/^  disturbance:$/,/^    enabled:/ s/^    enabled: true$/    enabled: false/' "$out/on.yml" > "$out/off.yml"
grep -q '^    enabled: false$' "$out/off.yml"

# A hog on the pinned core for WINDOW seconds, then none for WINDOW seconds, until killed.
hog_windows() {
    local hog=""
    trap '[ -n "$hog" ] && kill "$hog" 2>/dev/null; exit 0' TERM
    while :; do
        taskset -c "$core" sh -c 'while :; do :; done' &
        hog=$!
        sleep "$window"
        kill "$hog"; wait "$hog" 2>/dev/null || true
        hog=""
        sleep "$window"
    done
}
windows=""
trap '[ -n "$windows" ] && kill "$windows" 2>/dev/null; true' EXIT

# measure NAME -- wasmgate arguments: one run under the hog windows, into $out/NAME.json.
measure() {
    local name=$1; shift 2
    hog_windows & windows=$!
    "$wasmgate" "$@" --tests "$tests" --cores "$core" --budget "$budget" \
        --out "$out/$name.json" > "$out/$name.txt" 2>&1 || true
    kill "$windows"; wait "$windows" 2>/dev/null || true
    windows=""
}

# summary NAME CONFIG BASE HEAD: the comparison of a run, in one line.
summary() {
    local name=$1 config=$2 base=$3 head=$4
    "$wasmgate" --config "$config" compare "$out/$name.json" --base "$base" --head "$head" \
        --out "$out/$name-compare.json" > /dev/null 2>&1 || true
    local samples disturbed
    samples=$(jq '.samples | length' "$out/$name.json")
    disturbed=$(jq '[.samples[] | select(.status == "disturbed")] | length' "$out/$name.json")
    jq -r --arg name "$name" --arg samples "$samples" --arg disturbed "$disturbed" '
        [.tests[] | .verdict] as $v
        | "\($name): \($disturbed) of \($samples) samples disturbed; "
          + "\([$v[] | select(. == "unchanged" or . == "regression" or . == "improvement")] | length) of \($v | length) tests conclusive; "
          + "\([$v[] | select(. == "regression" or . == "improvement")] | length) changes called "
          + "(\([$v[] | select(. == "regression")] | length) regressions); gate \(if .gate_failed then "failed" else "passed" end)"
    ' "$out/$name-compare.json"
}

for mode in off on; do
    measure "aa-$mode" -- --config "$out/$mode.yml" calibrate aa
done

wasmtime=$(jq -r '.runtimes[0].path' "$out/aa-on.json")
slowdown=no
if [ "${SLOWDOWN:-1}" != 0 ] && "$wasmtime" run -O help 2>&1 | grep -q regalloc-algorithm; then
    slowdown=yes
    for mode in off on; do
        # A second wasmtime entry whose register allocator is the fast, worse one.
        sed "s|^runtimes:$|runtimes:\n  single-pass:\n    install: { path: $wasmtime }\n    run: ['{bin}', run, -O, regalloc-algorithm=single-pass, '{module}']\n    version: ['{bin}', --version]|" \
            "$out/$mode.yml" > "$out/$mode-slow.yml"
        measure "slow-$mode" -- --config "$out/$mode-slow.yml" run \
            --runtime wasmtime --runtime single-pass --samples 16
    done
fi

echo "A/A of wasmtime, $budget each, hog on core $core for ${window} s of every $((2 * window)) s:"
echo "  detection off: $(summary aa-off "$out/off.yml" a b)"
echo "  detection on:  $(summary aa-on "$out/on.yml" a b)"
if [ "$slowdown" = yes ]; then
    echo "wasmtime -O regalloc-algorithm=single-pass against wasmtime (regressions are detections):"
    echo "  detection off: $(summary slow-off "$out/off-slow.yml" wasmtime single-pass)"
    echo "  detection on:  $(summary slow-on "$out/on-slow.yml" wasmtime single-pass)"
else
    echo "(no slowdown runs: SLOWDOWN=0, or this wasmtime has no -O regalloc-algorithm)"
fi
