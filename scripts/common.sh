# Shared set-up for scripts/test.sh, scripts/run-main.sh and bench/compare*.sh (sourced, not run).
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

# For bench/compare*.sh: installs what is missing (libtorch-dev too unless
# NO_TORCH; nothing when NO_INSTALL), configures with the benchmarks on and
# builds the chainrule program $1 and, when CMake found LibTorch (and NO_TORCH
# is unset), its LibTorch twin $2. BENCH_TARGETS holds what was built.
build_benchmark_pair() {
  if [[ -z "${NO_INSTALL:-}" ]]; then
    local packages=("${CHAINRULE_PACKAGES[@]}")
    [[ -z "${NO_TORCH:-}" ]] && packages+=(libtorch-dev)
    ensure_packages "${packages[@]}"
  fi
  [[ -f "$BUILD_DIR/CMakeCache.txt" ]] || configure
  cmake -S "$REPO_ROOT" -B "$BUILD_DIR" -DCHAINRULE_BUILD_BENCHMARKS=ON >/dev/null
  BENCH_TARGETS=("$1")
  if [[ -z "${NO_TORCH:-}" ]] && grep -q "^Torch_DIR:PATH=.*cmake/Torch" "$BUILD_DIR/CMakeCache.txt"; then
    BENCH_TARGETS+=("$2")
  fi
  cmake --build "$BUILD_DIR" -j "$JOBS" --target "${BENCH_TARGETS[@]}"
}
