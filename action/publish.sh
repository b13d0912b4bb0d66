#!/usr/bin/env bash
# The action's publishing step: the sticky comment (gate, publish), the watch issue (nightly),
# and always the job summary and step outputs. Only this step sees the token.
set -euo pipefail

config=()
if [ -n "$WG_CONFIG" ]; then config=(--config "$WG_CONFIG"); fi
pr=()
if [ -n "${WG_PR:-}" ]; then pr=(--pr "$WG_PR"); fi
case "$WG_MODE" in
  nightly)
    # The differential nightly's longer links (a slow drift opens the issue too) and the build
    # command of the issue's bisect command.
    extra=()
    if [ -n "$WG_KEPT_BUILDS" ]; then
      links=()
      for link in wasmgate-nightly.t-*.comparison.json; do
        if [ -f "$link" ]; then links+=("$link"); fi
      done
      if [ "${#links[@]}" -gt 0 ]; then extra+=(--drift "$(IFS=,; echo "${links[*]}")"); fi
    fi
    if [ -n "$WG_BUILD_COMMAND" ]; then extra+=(--bisect-build "$WG_BUILD_COMMAND"); fi
    wasmgate "${config[@]}" publish "$WG_COMPARISON" --issue "${extra[@]}"
    ;;
  gate|publish)
    if [ "$WG_COMMENT" = "true" ]; then
      wasmgate "${config[@]}" publish "$WG_COMPARISON" "${pr[@]}"
    else
      wasmgate "${config[@]}" publish "$WG_COMPARISON" --no-comment
    fi
    ;;
  *) wasmgate "${config[@]}" publish "$WG_COMPARISON" --no-comment ;;
esac
