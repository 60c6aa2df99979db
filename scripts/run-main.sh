#!/usr/bin/env bash
# Installs what is missing, builds the main example program (examples/train_tiny.cpp:
# a small MLP trained on two spirals) and runs it. Arguments are passed through.
#   bash scripts/run-main.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

ensure_packages "${CHAINRULE_PACKAGES[@]}"
configure
cmake --build "$BUILD_DIR" -j "$JOBS" --target train_tiny
"$BUILD_DIR/examples/train_tiny" "$@"
