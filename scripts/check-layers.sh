#!/usr/bin/env bash
# Fails when a stage imports a stage at its own level or above it: wasmgate's modules form one
# order, and each may only use those before it (see docs/architecture.md). A folder missing
# from the order is an error too, so a new stage has to be placed before it can land.
# `--graph` prints, per module, the modules it uses.
set -euo pipefail
cd "$(dirname "$0")/.."

order=(model util stats config toolchain build run compare calibrate nightly bisect report publish cli)

level_of() {
  local i
  for i in "${!order[@]}"; do
    [ "${order[$i]}" = "$1" ] && { echo "$i"; return; }
  done
  echo -1
}

# Every `crate::NAME` of a folder outside comments, as FILE:LINE:NAME.
uses_of() {
  { grep -rnE --include='*.rs' 'crate::[a-z_]+' "$1" || true; } \
    | { grep -vE '^[^:]+:[0-9]+:[[:space:]]*//' || true; } \
    | { grep -oE '^[^:]+:[0-9]+:|crate::[a-z_]+' || true; } \
    | awk '/^[^:]+:[0-9]+:$/ { where = $0; next } { sub("crate::", ""); print where $0 }'
}

if [ "${1:-}" = "--graph" ]; then
  for stage in "${order[@]}"; do
    [ -d "src/$stage" ] || continue
    used=$(uses_of "src/$stage/" | cut -d: -f3 | sort -u | { grep -vx "$stage" || true; } | tr '\n' ' ')
    printf '%-10s <- %s\n' "$stage" "${used:-(nothing)}"
  done
  exit 0
fi

status=0
for dir in src/*/; do
  stage=$(basename "$dir")
  own=$(level_of "$stage")
  if [ "$own" -lt 0 ]; then
    echo "src/$stage/: not in the layer order of scripts/check-layers.sh; place it there and in docs/architecture.md"
    status=1
    continue
  fi
  # Every `crate::NAME` outside comments, with the file and line it is on.
  while IFS=: read -r file line used; do
    [ "$used" = "$stage" ] && continue
    theirs=$(level_of "$used")
    if [ "$theirs" -lt 0 ]; then
      continue # not a stage (e.g. a type re-exported at the crate root)
    fi
    if [ "$theirs" -ge "$own" ]; then
      echo "$file:$line: $stage uses crate::$used, which is not below it (order: ${order[*]})"
      status=1
    fi
  done < <(uses_of "$dir")
done
if [ "$status" -eq 0 ]; then
  echo "layers: every import points down (${order[*]})"
fi
exit "$status"
