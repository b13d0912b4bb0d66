#!/bin/sh
# Build the wasm3-run CLI from the wasm3 C sources in an unpacked pywasm3 sdist.
#
#   sh wasm3-build.sh SDIST_DIR OUTPUT_EXE HELPER_DIR
#
#   SDIST_DIR   unpacked sdist root (the directory holding wasm3/wasm3.h)
#   OUTPUT_EXE  executable to produce; written to a temporary name, then renamed
#   HELPER_DIR  directory holding main.c (the CLI and its WASI host bindings);
#               the shared WASI core they call is installed in HELPER_DIR/../wasi
#
# Environment: CC (default cc). Needs only libc and libm.
set -eu

die() {
    echo "wasm3-build: $*" >&2
    exit 1
}

[ "$#" -eq 3 ] || die "usage: sh wasm3-build.sh SDIST_DIR OUTPUT_EXE HELPER_DIR"
sdist=$1
out=$2
helper=$3

src="$sdist/wasm3"
[ -d "$sdist" ] || die "sdist directory not found: $sdist"
[ -f "$src/wasm3.h" ] || die "no wasm3/wasm3.h under $sdist (not an unpacked pywasm3 sdist?)"
[ -f "$helper/main.c" ] || die "main.c not found in helper directory: $helper"
core="$helper/../wasi"
for f in wasi-core.c wasi-core.h; do
    [ -f "$core/$f" ] || die "$f not found in shared WASI directory: $core"
done

# The interpreter core: every wasm3/*.c file.  The sdist's Python binding
# (m3module.c at the sdist root) is deliberately not part of it.
for f in m3_bind m3_code m3_compile m3_core m3_emit m3_env m3_exec m3_function m3_info m3_module m3_parse; do
    [ -f "$src/$f.c" ] || die "missing wasm3 source $src/$f.c"
done

cc=${CC:-cc}
command -v "$cc" >/dev/null 2>&1 || die "C compiler not found: $cc"

outdir=$(dirname -- "$out")
[ -d "$outdir" ] || die "output directory does not exist: $outdir"

# Flags:
#  -O3                     release optimisation; also turns on sibling-call
#                          optimisation, which wasm3's threaded-code dispatch
#                          (each op tail-calls the next) depends on for speed
#                          and to keep native stack use flat.
#  -fomit-frame-pointer, -fno-stack-protector, -fno-stack-check
#                          same as the sdist's own setup.py: no per-op prologue
#                          work in the interpreter's op handlers.
#  DEBUG left undefined    keeps wasm3's internal asserts and debug tables out.
#  -Dd_m3RecordBacktraces=1
#                          the sdist's setup.py uses this too; costs only a
#                          pc->offset table at compile time and lets traps be
#                          reported with a wasm function backtrace.
#  d_m3MaxFunctionStackHeight left at its default (2000): every libsodium
#                          benchmark module compiles within it.  Raise it here
#                          if a module fails with "compiling function overran
#                          its stack height limit".
#  d_m3HasWASI etc.        not defined: wasm3's WASI layer (m3_api_wasi.c) is
#                          not in this sdist; main.c binds the host functions
#                          to the shared core in ../wasi.
#  -lm                     float ops use libm (sqrt, floor, fmin, ...).
cflags="-O3 -fomit-frame-pointer -fno-stack-protector -fno-stack-check -w"
defs="-Dd_m3RecordBacktraces=1"

tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
trap 'rm -f "$tmp"; exit 1' HUP INT TERM

# shellcheck disable=SC2086
"$cc" $cflags $defs -I"$src" -I"$core" -o "$tmp" \
    "$helper/main.c" "$core/wasi-core.c" \
    "$src/m3_bind.c" "$src/m3_code.c" "$src/m3_compile.c" "$src/m3_core.c" \
    "$src/m3_emit.c" "$src/m3_env.c" "$src/m3_exec.c" "$src/m3_function.c" \
    "$src/m3_info.c" "$src/m3_module.c" "$src/m3_parse.c" \
    -lm || die "compilation failed ($cc)"

"$tmp" --version >/dev/null 2>&1 || die "built executable does not run: $tmp"
mv -f "$tmp" "$out" || die "cannot move $tmp to $out"
trap - EXIT HUP INT TERM
