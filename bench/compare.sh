#!/usr/bin/env bash
# Runs chainrule's benchmarks and their LibTorch twins with the same thread
# budget and prints one table: time per op for each, and chainrule/LibTorch.
#
#   bash bench/compare.sh [extra Google Benchmark flags, e.g. --benchmark_filter=matmul]
#
# Environment: THREADS (default: nproc) threads for OpenMP/OpenBLAS and for
# torch::set_num_threads; REPS (default 3) repetitions, the median is used;
# MIN_TIME (default 0.5) seconds per benchmark; BUILD_DIR (default build);
# NO_TORCH=1 runs chainrule alone; NO_INSTALL=1 never calls apt-get.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/common.sh"

THREADS="${THREADS:-$(nproc)}"
REPS="${REPS:-3}"
MIN_TIME="${MIN_TIME:-0.5}"
OUT_DIR="${OUT_DIR:-$BUILD_DIR/bench-results}"

build_benchmark_pair bench_chainrule bench_libtorch
targets=("${BENCH_TARGETS[@]}")

mkdir -p "$OUT_DIR"
export OMP_NUM_THREADS="$THREADS" CHAINRULE_BENCH_THREADS="$THREADS"

# OpenBLAS's DYNAMIC_ARCH build (Debian's) falls back to generic "Prescott"
# kernels on CPUs newer than it knows, several times slower. Both libraries use
# the same libopenblas, so pick the best kernels this CPU supports for both.
core="$("$BUILD_DIR/bench/bench_chainrule" --openblas_core)"
if [[ -z "${OPENBLAS_CORETYPE:-}" && "${core,,}" == prescott ]]; then
  flags="$(grep -m1 '^flags' /proc/cpuinfo || true)"
  case "$flags" in
    *avx512_bf16*) export OPENBLAS_CORETYPE=Cooperlake ;;
    *avx512f*) export OPENBLAS_CORETYPE=SkylakeX ;;
    *avx2*) export OPENBLAS_CORETYPE=Haswell ;;
  esac
  [[ -n "${OPENBLAS_CORETYPE:-}" ]] &&
    echo "note: OpenBLAS did not recognise this CPU (chose $core); using OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE"
fi
core="$("$BUILD_DIR/bench/bench_chainrule" --openblas_core)"
run() {  # run <binary> <csv>
  local flags=(--benchmark_min_time="$MIN_TIME" --benchmark_out="$2" --benchmark_out_format=csv)
  # Interleaving the repetitions of all cases spreads a busy machine's noise evenly.
  ((REPS > 1)) && flags+=(--benchmark_repetitions="$REPS" --benchmark_report_aggregates_only=true
                          --benchmark_enable_random_interleaving=true)
  "$BUILD_DIR/bench/$1" "${flags[@]}" "${@:3}"
}
echo "== chainrule (OMP_NUM_THREADS=$THREADS)"
run bench_chainrule "$OUT_DIR/chainrule.csv" "$@"
: >"$OUT_DIR/libtorch.csv"
if [[ " ${targets[*]} " == *" bench_libtorch "* ]]; then
  echo "== LibTorch (torch::set_num_threads($THREADS))"
  run bench_libtorch "$OUT_DIR/libtorch.csv" "$@"
fi

echo
echo "threads: $THREADS (OpenMP pool shared by OpenBLAS and chainrule; torch::set_num_threads($THREADS))"
echo "OpenBLAS kernels: $core${OPENBLAS_CORETYPE:+ (OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE)}"
echo "time per op: CPU time of the benchmark thread, except matmul/cblas_sgemm/cnn_stage: wall time"
echo "($( ((REPS > 1)) && echo "median of $REPS runs" || echo "one run"); raw CSVs in $OUT_DIR)"
echo
awk -F, -v reps="$REPS" '
  function unquote(s) { gsub(/"/, "", s); return s }
  function human(seconds) {
    if (seconds == "") return "-"
    if (seconds < 1e-6) return sprintf("%.1f ns", seconds * 1e9)
    if (seconds < 1e-3) return sprintf("%.2f us", seconds * 1e6)
    if (seconds < 1)    return sprintf("%.2f ms", seconds * 1e3)
    return sprintf("%.3f s", seconds)
  }
  FNR == 1 { file++; in_table = 0 }
  /^name,/ {  # the CSV header, after the context lines Google Benchmark writes first
    for (i = 1; i <= NF; i++) column[file, unquote($i)] = i
    in_table = 1
    next
  }
  !in_table { next }
  {
    name = unquote($column[file, "name"])
    if (reps > 1) { if (name !~ /_median$/) next; sub(/_median$/, "", name) }
    sub(/\/real_time$/, "", name)
    t = $column[file, "time_per_op"] + 0
    if (file == 1) { if (!(name in cr)) order[++n] = name; cr[name] = t } else torch[name] = t
  }
  function sort_key(name,   arg) {  # cases in the order bench_common.h lists them, sizes ascending
    arg = name; if (!sub(/^[^\/]*\//, "", arg)) arg = 0
    if (name ~ /^add_chain_backward/) return 1e7 + arg
    if (name ~ /^add_no_grad/) return 2e7 + arg
    if (name ~ /^mlp20/) return 3e7 + arg
    if (name ~ /^matmul/) return 4e7 + arg
    if (name ~ /^cnn_stage/) return 5e7 + arg
    return 6e7 + arg
  }
  END {
    for (i = 2; i <= n; i++)  # insertion sort: a dozen rows
      for (j = i; j > 1 && sort_key(order[j - 1]) > sort_key(order[j]); j--) {
        tmp = order[j]; order[j] = order[j - 1]; order[j - 1] = tmp
      }
    printf "%-26s %12s %12s %12s %14s\n", "case", "chainrule", "LibTorch", "cr/LibTorch", "cr/cblas_sgemm"
    for (i = 1; i <= n; i++) {
      name = order[i]
      if (name ~ /^cblas_sgemm\//) continue
      ratio = (name in torch && torch[name] > 0) ? sprintf("%.2f", cr[name] / torch[name]) : "-"
      blas = "-"
      if (name ~ /^matmul\//) {
        size = name; sub(/^matmul\//, "", size)
        if (("cblas_sgemm/" size) in cr) blas = sprintf("%.2f", cr[name] / cr["cblas_sgemm/" size])
      }
      printf "%-26s %12s %12s %12s %14s\n", name, human(cr[name]), (name in torch) ? human(torch[name]) : "-", ratio, blas
    }
  }' "$OUT_DIR/chainrule.csv" "$OUT_DIR/libtorch.csv"
