#!/usr/bin/env bash
# Installs what is missing, builds chainrule (Release) and runs the whole test suite.
#   bash scripts/test.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

ensure_packages "${CHAINRULE_PACKAGES[@]}"
configure
cmake --build "$BUILD_DIR" -j "$JOBS"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS"
