#!/usr/bin/env bash
# Builds wasmer with its LLVM engine from crates.io, against Debian's LLVM 22 (root for apt),
# into DIR (default: the wasmgate cache's tools folder), and prints the binary's path for
#   wasmgate run --runtime wasmer-llvm=PATH ...
# About 17 minutes on 2 cores. Not part of CI.
set -euo pipefail
version=7.4.2
dir="${1:-${WASMGATE_HOME:-$HOME/.cache/wasmgate}/tools/crates-wasmer-cli-llvm-$version}"
if [ ! -x "$dir/bin/wasmer" ]; then
  # llvm-sys needs llvm-config and the static libraries; Debian 12 carries LLVM 22 in
  # bookworm-security.
  apt-get install -y -qq llvm-22-dev libpolly-22-dev libzstd-dev >&2
  LLVM_SYS_221_PREFIX=/usr/lib/llvm-22 cargo install --locked --quiet --root "$dir" \
    --version "$version" wasmer-cli --features llvm >&2
fi
echo "$dir/bin/wasmer"
