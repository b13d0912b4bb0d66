#!/usr/bin/env bash
# Every runtime wasmgate installs or builds, through the whole suite, then the cross-runtime
# report (markdown and HTML, with the published 2023 results beside it). Not part of CI:
# wasmer's `cargo install` alone takes 15 to 30 minutes on 2 cores, WasmEdge's build about 10.
# WasmEdge's interpreter is left out (150-280 times slower than its AOT mode, which the article
# measured): a whole-suite pass would take hours. WAMR, WasmEdge and wazero are built from their
# upstream repositories (WASMGATE_GIT_MIRROR=DIR clones them from DIR/REPO.git instead).
#
#   bench/all-runtimes.sh [SAMPLES] [OUT_DIR] [RUN_ARGS...]
#       (defaults: 3 samples, ./all-runtimes; RUN_ARGS go to `wasmgate run`, e.g. --cores 0,1)
#
# With WASMER_LLVM=PATH (from bench/wasmer-llvm.sh), wasmer's LLVM engine runs too.
set -euo pipefail
cd "$(dirname "$0")/.."
samples="${1:-3}"
out="${2:-all-runtimes}"
shift $(( $# < 2 ? $# : 2 ))
runtimes=(wasmtime wasmtime-aot node bun deno wasmi wasm2c wasm3 wasmer-cranelift wasmer-singlepass
  iwasm iwasm-aot wasmedge-aot wazero native)

mkdir -p "$out"
cargo build --release -q
wasmgate=target/release/wasmgate
start=$(date +%s)
"$wasmgate" setup --runtimes "$(IFS=,; echo "${runtimes[*]}")"
echo "setup: $(( $(date +%s) - start )) s (installs on first use)"
args=()
for runtime in "${runtimes[@]}"; do args+=(--runtime "$runtime"); done
if [ -n "${WASMER_LLVM:-}" ]; then args+=(--runtime "wasmer-llvm=$WASMER_LLVM"); fi
start=$(date +%s)
"$wasmgate" run "${args[@]}" --samples "$samples" --max-samples "$samples" --precision 0 --out "$out/results.json" "$@"
echo "run: $(( $(date +%s) - start )) s"
"$wasmgate" report "$out/results.json" --then-now --format markdown --out "$out/report.md"
"$wasmgate" report "$out/results.json" --then-now --format html --out "$out/report.html"
"$wasmgate" report "$out/results.json" --then-now
