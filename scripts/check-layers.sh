#!/usr/bin/env bash
# The layer check: stages import down only, and no circle between the files of a stage. The
# rules and how paths are read are in check_layers.py; `--graph` prints each stage's uses.
set -euo pipefail
exec python3 "$(dirname "$0")/check_layers.py" "$@"
