#!/usr/bin/env bash
# The action's publishing step: the sticky comment (gate, publish), the watch issue (nightly),
# and always the job summary and step outputs. Only this step sees the token.
set -euo pipefail

config=()
if [ -n "$WG_CONFIG" ]; then config=(--config "$WG_CONFIG"); fi
pr=()
if [ -n "${WG_PR:-}" ]; then pr=(--pr "$WG_PR"); fi
case "$WG_MODE" in
  nightly) wasmgate "${config[@]}" publish "$WG_COMPARISON" --issue ;;
  gate|publish)
    if [ "$WG_COMMENT" = "true" ]; then
      wasmgate "${config[@]}" publish "$WG_COMPARISON" "${pr[@]}"
    else
      wasmgate "${config[@]}" publish "$WG_COMPARISON" --no-comment
    fi
    ;;
  *) wasmgate "${config[@]}" publish "$WG_COMPARISON" --no-comment ;;
esac
