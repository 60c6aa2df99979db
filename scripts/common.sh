# Shared set-up for scripts/test.sh and scripts/run-main.sh (sourced, not run).
#
# Environment knobs:
#   BUILD_DIR   build directory (default: <repo>/build)
#   BUILD_TYPE  CMake build type (default: Release)
#   JOBS        parallel build jobs (default: 2)
#   CMAKE_ARGS  extra arguments for the configure step

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$REPO_ROOT/build}"
BUILD_TYPE="${BUILD_TYPE:-Release}"
JOBS="${JOBS:-2}"

# What a fresh Debian 12 machine needs to build and test chainrule.
# (libtorch-dev is optional and only used by the benchmarks: see bench/compare.sh.)
CHAINRULE_PACKAGES=(
  cmake g++ make
  libopenblas-openmp-dev libgtest-dev libbenchmark-dev
  zlib1g-dev nlohmann-json3-dev libcli11-dev libdnnl-dev dataset-fashion-mnist
)

is_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

# Installs whichever of the given Debian packages are missing; touches apt
# (and its package lists) only when something is.
ensure_packages() {
  local missing=() package
  for package in "$@"; do
    is_installed "$package" || missing+=("$package")
  done
  ((${#missing[@]} == 0)) && return 0
  echo "== installing missing packages: ${missing[*]}"
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "error: need root (or sudo) to install ${missing[*]}" >&2; return 1; }
    sudo=(sudo)
  fi
  "${sudo[@]}" apt-get update
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
}

configure() {
  # shellcheck disable=SC2086  # CMAKE_ARGS is a list of words on purpose
  cmake -S "$REPO_ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="$BUILD_TYPE" ${CMAKE_ARGS:-}
}
