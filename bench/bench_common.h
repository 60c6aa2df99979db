#pragma once
// What chainrule's and LibTorch's benchmark binaries share: the cases' sizes
// and the counters, so that bench/compare.sh can pair their results by name.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <string>

namespace bench {

// (a) and (b): 1-element adds; N is the length of the chain.
inline constexpr std::int64_t kChainLengths[] = {100, 1000};
// (c): 20 × (Linear(32, 32) + tanh) at batch 16.
inline constexpr std::int64_t kMlpDepth = 20;
inline constexpr std::int64_t kMlpWidth = 32;
inline constexpr std::int64_t kMlpBatch = 16;
// (d): square matrix products.
inline constexpr std::int64_t kMatmulSizes[] = {128, 256, 512, 1024, 2048};
// (e): the stages of the training benchmark's CNN (bench/train_common.h), each
// forward and backward at its batch: 0 = conv 1→32 3×3 pad 1, ReLU, 2×2 max
// pooling on 28×28; 1 = conv 32→64 3×3 pad 1, ReLU, 2×2 max pooling on 14×14;
// 2 = fc 3136→128, ReLU, fc 128→10, cross-entropy. The stage's input needs a
// gradient except in stage 0 (the images), as in training.
inline constexpr std::int64_t kCnnBatch = 128;
inline constexpr std::int64_t kCnnStages = 3;

/// Adds time_per_op (seconds; CPU time unless the benchmark uses real time),
/// where every iteration runs `ops_per_iteration` ops. Every benchmark reports
/// it (Google Benchmark's CSV output needs the same counters in every row), and
/// bench/compare.sh compares it.
inline void report_time_per_op(benchmark::State& state, std::int64_t ops_per_iteration) {
  state.counters["time_per_op"] = benchmark::Counter(
      static_cast<double>(ops_per_iteration),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

/// Counts an n×n·n×n GEMM as 2n³ items, so items_per_second reads as FLOP/s.
inline void report_gemm_flops(benchmark::State& state, std::int64_t n) {
  state.SetItemsProcessed(state.iterations() * 2 * n * n * n);
  report_time_per_op(state, 1);
}

/// Threads both libraries should use: $CHAINRULE_BENCH_THREADS, else $OMP_NUM_THREADS, else 0
/// (meaning: the OpenMP default, one per core).
inline int requested_threads() {
  for (const char* name : {"CHAINRULE_BENCH_THREADS", "OMP_NUM_THREADS"}) {
    if (const char* value = std::getenv(name); value && std::atoi(value) > 0) return std::atoi(value);
  }
  return 0;
}

}  // namespace bench
