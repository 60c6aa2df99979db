#!/usr/bin/env bash
# Trains the MLP and the CNN with chainrule (bench_train_chainrule) and with
# LibTorch (bench_train_libtorch) on the same random Fashion-MNIST-shaped
# batches with the same threads, and prints one table: steps/s and peak RSS of
# each, and chainrule/LibTorch ratios.
#
#   bash bench/compare_training.sh
#
# LibTorch runs twice per round: as installed (the environment this script was
# given; on CPUs newer than Debian's OpenBLAS knows, its generic SSE3 kernels)
# and tuned (the OPENBLAS_CORETYPE and GOMP_SPINCOUNT that chainrule's
# configure_runtime picks for itself), so the table shows both ratios.
#
# Environment: THREADS (default: nproc) becomes OMP_NUM_THREADS for both
# programs (LibTorch: torch::set_num_threads of the same); RUNS (default 3)
# runs of each program per model, alternating, best steps/s kept;
# MODELS (default "mlp cnn"); MLP_STEPS/MLP_WARMUP (default 300/20) and
# CNN_STEPS/CNN_WARMUP (default 40/5) timed/untimed steps per run;
# BUILD_DIR (default build); NO_TORCH=1 runs chainrule alone; NO_INSTALL=1
# never calls apt-get; OPENBLAS_CORETYPE or GOMP_SPINCOUNT, if set, are used
# as they are for every program.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/common.sh"

CPUS="$(nproc --all)"  # before OMP_NUM_THREADS is set: nproc obeys it
THREADS="${THREADS:-$(nproc)}"
RUNS="${RUNS:-3}"
MODELS="${MODELS:-mlp cnn}"
OUT_DIR="${OUT_DIR:-$BUILD_DIR/bench-results}"

build_benchmark_pair bench_train_chainrule bench_train_libtorch
targets=("${BENCH_TARGETS[@]}")

export OMP_NUM_THREADS="$THREADS"
# What `chainrule` (and bench_train_chainrule) sets for itself when unset
# (cr::cpu::configure_runtime): OpenBLAS kernels for this CPU in place of the
# generic "Prescott" fallback Debian's DYNAMIC_ARCH OpenBLAS picks on newer
# CPUs, and bounded OpenMP spinning. "tuned" LibTorch gets the same.
read -r _ coretype < <("$BUILD_DIR/bench/bench_train_chainrule" --openblas-env)
tuned_env=(GOMP_SPINCOUNT="${GOMP_SPINCOUNT:-10000}")
tuned_core="${OPENBLAS_CORETYPE:-$coretype}"  # "-": OpenBLAS's own choice is fine
[[ "$tuned_core" != "-" ]] && tuned_env+=(OPENBLAS_CORETYPE="$tuned_core")

# One entry per measured configuration: program and label.
configs=("bench_train_chainrule chainrule")
if [[ " ${targets[*]} " == *" bench_train_libtorch "* ]]; then
  configs+=("bench_train_libtorch installed" "bench_train_libtorch tuned")
fi
run_config() {  # program label model steps warmup
  local env_args=()
  [[ "$2" == "installed" ]] || env_args=("${tuned_env[@]}")
  env "${env_args[@]}" "$BUILD_DIR/bench/$1" --model "$3" --steps "$4" --warmup "$5" | grep '^train_result ' |
    sed "s/^train_result /train_result config=$2 /"
}

steps_for() { case "$1" in mlp) echo "${MLP_STEPS:-300} ${MLP_WARMUP:-20}" ;; *) echo "${CNN_STEPS:-40} ${CNN_WARMUP:-5}" ;; esac; }

mkdir -p "$OUT_DIR"
results="$OUT_DIR/training.txt"
: >"$results"
load_before="$(uptime)"
for ((run = 1; run <= RUNS; run++)); do
  # Alternate the order of the programs so a burst of load on a shared machine
  # does not land on one of them only.
  order=("${configs[@]}")
  ((run % 2 == 0)) && mapfile -t order < <(printf "%s\n" "${configs[@]}" | tac)
  for model in $MODELS; do
    read -r steps warmup < <(steps_for "$model")
    for config in "${order[@]}"; do
      read -r program label <<<"$config"
      line="$(run_config "$program" "$label" "$model" "$steps" "$warmup")"
      echo "run $run: $line"
      echo "$line" >>"$results"
    done
  done
done
load_after="$(uptime)"

echo
echo "load before: ${load_before##*load average: }; after: ${load_after##*load average: } (1, 5, 15 min; $CPUS CPUs)"
echo "OMP_NUM_THREADS=$THREADS; tuned: ${tuned_env[*]}; batch 128, SGD lr 0.01 momentum 0.9"
echo "steps/s: best of $RUNS runs; peak RSS: getrusage ru_maxrss, largest of the runs; raw lines in $results"
echo
awk '
  {
    delete f
    for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    key = f["config"] SUBSEP f["model"]
    if (!(f["model"] in seen)) { seen[f["model"]] = 1; order[++n] = f["model"] }
    if (f["steps_per_s"] + 0 > speed[key] + 0) speed[key] = f["steps_per_s"]
    if (f["peak_rss_kib"] + 0 > rss[key] + 0) rss[key] = f["peak_rss_kib"]
    threads[f["config"]] = f["threads"]; core[f["config"]] = f["openblas_core"]; name[f["config"]] = f["library"]
  }
  function mb(kib) { return (kib == "") ? "-" : sprintf("%.0f MB", kib * 1024 / 1e6) }
  function num(x) { return (x == "") ? "-" : sprintf("%.1f", x) }
  function ratio(a, b, fmt) { return (b == "" || b + 0 == 0) ? "-" : sprintf(fmt, a / b) }
  END {
    printf "%-6s %10s %17s %8s %14s %8s %10s %12s %8s\n", "model", "chainrule", "LibTorch installed", "ratio",
           "LibTorch tuned", "ratio", "cr RSS", "LibTorch RSS", "RSS ratio"
    for (i = 1; i <= n; i++) {
      m = order[i]; c = ("chainrule" SUBSEP m); ti = ("installed" SUBSEP m); tt = ("tuned" SUBSEP m)
      t_rss = (rss[ti] > rss[tt]) ? rss[ti] : rss[tt]
      printf "%-6s %10s %17s %8s %14s %8s %10s %12s %8s\n", m, num(speed[c]), num(speed[ti]),
             ratio(speed[c], speed[ti], "%.2fx"), num(speed[tt]), ratio(speed[c], speed[tt], "%.2fx"),
             mb(rss[c]), mb(t_rss), ratio(rss[c], t_rss, "%.2f")
    }
    printf "\nsteps/s; threads: chainrule %s (OpenMP pool shared with OpenBLAS)", threads["chainrule"]
    if ("installed" in threads) printf ", %s %s (torch::get_num_threads)", name["installed"], threads["installed"]
    printf "\nOpenBLAS kernels: chainrule %s", core["chainrule"]
    if ("installed" in core) printf ", LibTorch installed %s, LibTorch tuned %s", core["installed"], core["tuned"]
    printf "\nratio = chainrule / LibTorch steps/s (higher: chainrule faster); RSS ratio = chainrule / the larger LibTorch peak RSS (lower: chainrule smaller)\n"
  }' "$results"
