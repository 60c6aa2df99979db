#!/usr/bin/env bash
# Trains the MLP and the CNN with chainrule (bench_train_chainrule) and with
# LibTorch (bench_train_libtorch) on the same random Fashion-MNIST-shaped
# batches, same threads, same OpenBLAS kernels, and prints one table:
# steps/s and peak RSS of each, and chainrule/LibTorch ratios.
#
#   bash bench/compare_training.sh
#
# Environment: THREADS (default: nproc) becomes OMP_NUM_THREADS for both
# programs (LibTorch: torch::set_num_threads of the same); RUNS (default 3)
# runs of each program per model, alternating, best steps/s kept;
# MODELS (default "mlp cnn"); MLP_STEPS/MLP_WARMUP (default 300/20) and
# CNN_STEPS/CNN_WARMUP (default 40/5) timed/untimed steps per run;
# BUILD_DIR (default build); NO_TORCH=1 runs chainrule alone; NO_INSTALL=1
# never calls apt-get; OPENBLAS_CORETYPE, if set, is used as is for both.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/common.sh"

CPUS="$(nproc --all)"  # before OMP_NUM_THREADS is set: nproc obeys it
THREADS="${THREADS:-$(nproc)}"
RUNS="${RUNS:-3}"
MODELS="${MODELS:-mlp cnn}"
OUT_DIR="${OUT_DIR:-$BUILD_DIR/bench-results}"

if [[ -z "${NO_INSTALL:-}" ]]; then
  packages=("${CHAINRULE_PACKAGES[@]}")
  [[ -z "${NO_TORCH:-}" ]] && packages+=(libtorch-dev)
  ensure_packages "${packages[@]}"
fi
[[ -f "$BUILD_DIR/CMakeCache.txt" ]] || configure
cmake -S "$REPO_ROOT" -B "$BUILD_DIR" -DCHAINRULE_BUILD_BENCHMARKS=ON >/dev/null
targets=(bench_train_chainrule)
if [[ -z "${NO_TORCH:-}" ]] && grep -q "^Torch_DIR:PATH=.*cmake/Torch" "$BUILD_DIR/CMakeCache.txt"; then
  targets+=(bench_train_libtorch)
fi
cmake --build "$BUILD_DIR" -j "$JOBS" --target "${targets[@]}"

export OMP_NUM_THREADS="$THREADS"
# OpenBLAS kernels: the `chainrule` program (and bench_train_chainrule) replaces
# the generic "Prescott" fallback of Debian's DYNAMIC_ARCH OpenBLAS on newer CPUs
# by setting OPENBLAS_CORETYPE and re-executing itself (cr::cpu::configure_runtime).
# Ask it what it settles on and export that, so LibTorch, which loads the same
# libopenblas, runs the same kernels.
read -r _ coretype < <("$BUILD_DIR/bench/bench_train_chainrule" --openblas-env)
if [[ -z "${OPENBLAS_CORETYPE:-}" && "$coretype" != "-" ]]; then
  export OPENBLAS_CORETYPE="$coretype"
  echo "note: OpenBLAS alone would pick generic kernels here; using OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE for both programs, as chainrule does"
fi

steps_for() { case "$1" in mlp) echo "${MLP_STEPS:-300} ${MLP_WARMUP:-20}" ;; *) echo "${CNN_STEPS:-40} ${CNN_WARMUP:-5}" ;; esac; }

mkdir -p "$OUT_DIR"
results="$OUT_DIR/training.txt"
: >"$results"
load_before="$(uptime)"
for ((run = 1; run <= RUNS; run++)); do
  # Alternate the programs, and which goes first, so a burst of load on a shared
  # machine does not land on one of them only.
  order=("${targets[@]}")
  ((run % 2 == 0)) && mapfile -t order < <(printf "%s\n" "${targets[@]}" | tac)
  for model in $MODELS; do
    read -r steps warmup < <(steps_for "$model")
    for program in "${order[@]}"; do
      line="$("$BUILD_DIR/bench/$program" --model "$model" --steps "$steps" --warmup "$warmup" | grep '^train_result ')"
      echo "run $run: $line"
      echo "$line" >>"$results"
    done
  done
done
load_after="$(uptime)"

echo
echo "load before: ${load_before##*load average: }; after: ${load_after##*load average: } (1, 5, 15 min; $CPUS CPUs)"
echo "OMP_NUM_THREADS=$THREADS; OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}; batch 128, SGD lr 0.01 momentum 0.9"
echo "steps/s: best of $RUNS runs; peak RSS: getrusage ru_maxrss, largest of the runs; raw lines in $results"
echo
awk '
  {
    delete f
    for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    lib = (f["library"] == "chainrule") ? "cr" : "torch"
    key = lib SUBSEP f["model"]
    if (!(f["model"] in seen)) { seen[f["model"]] = 1; order[++n] = f["model"] }
    if (f["steps_per_s"] + 0 > speed[key] + 0) speed[key] = f["steps_per_s"]
    if (f["peak_rss_kib"] + 0 > rss[key] + 0) rss[key] = f["peak_rss_kib"]
    threads[lib] = f["threads"]; core[lib] = f["openblas_core"]; name[lib] = f["library"]
  }
  function mb(kib) { return (kib == "") ? "-" : sprintf("%.0f MB", kib * 1024 / 1e6) }
  function num(x) { return (x == "") ? "-" : sprintf("%.1f", x) }
  END {
    printf "%-6s %14s %14s %12s %11s %11s %10s\n", "model", "chainrule st/s", "LibTorch st/s", "speed ratio",
           "chainrule", "LibTorch", "RSS ratio"
    for (i = 1; i <= n; i++) {
      m = order[i]; c = ("cr" SUBSEP m); t = ("torch" SUBSEP m)
      sr = (t in speed && speed[t] > 0) ? sprintf("%.2fx", speed[c] / speed[t]) : "-"
      rr = (t in rss && rss[t] > 0) ? sprintf("%.2f", rss[c] / rss[t]) : "-"
      printf "%-6s %14s %14s %12s %11s %11s %10s\n", m, num(speed[c]), num(speed[t]), sr, mb(rss[c]), mb(rss[t]), rr
    }
    printf "\nthreads: chainrule %s (OpenMP pool shared with OpenBLAS)", threads["cr"]
    if ("torch" in threads) printf ", %s %s (torch::get_num_threads)", name["torch"], threads["torch"]
    printf "\nOpenBLAS kernels: chainrule %s", core["cr"]
    if ("torch" in core) printf ", LibTorch %s", core["torch"]
    printf "\nspeed ratio = chainrule / LibTorch steps/s (higher: chainrule faster); RSS ratio = chainrule / LibTorch (lower: chainrule smaller)\n"
  }' "$results"
