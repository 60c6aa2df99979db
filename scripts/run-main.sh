#!/usr/bin/env bash
# Installs what is missing, builds the chainrule program and runs the main job:
# training on Fashion-MNIST with per-epoch test accuracy and a gradient-flow
# report. Arguments go to `chainrule train` (default: the MLP for 3 epochs),
#   bash scripts/run-main.sh                       # MLP, 3 epochs
#   bash scripts/run-main.sh --model cnn --epochs 15
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

ensure_packages "${CHAINRULE_PACKAGES[@]}"
configure
cmake --build "$BUILD_DIR" -j "$JOBS" --target chainrule_cli
"$BUILD_DIR/tools/chainrule/chainrule" train "$@"
