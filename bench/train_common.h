#pragma once
// What bench_train_chainrule and bench_train_libtorch share: the command line,
// the random (seeded) Fashion-MNIST-shaped data, the peak-RSS probe and the one
// result line bench/compare_training.sh parses. Plain C++: neither library's
// headers, so both programs see exactly the same data and settings.

#include <sys/resource.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace bench::train {

// Fashion-MNIST's shape: 1×28×28 images, 10 classes; batch 128.
inline constexpr std::int64_t kBatch = 128;
inline constexpr std::int64_t kChannels = 1;
inline constexpr std::int64_t kHeight = 28;
inline constexpr std::int64_t kWidth = 28;
inline constexpr std::int64_t kClasses = 10;
inline constexpr std::int64_t kImageSize = kChannels * kHeight * kWidth;
// Steps cycle through this many pre-made batches (3.2 MB of images), so the
// measured time is the model's, not the data's, and both programs hold the
// same data in memory.
inline constexpr std::int64_t kBatchesInPool = 8;
inline constexpr std::uint64_t kSeed = 0;
// SGD as the issue specifies: lr 0.01, momentum 0.9 (no Nesterov, no weight decay).
inline constexpr double kLearningRate = 0.01;
inline constexpr double kMomentum = 0.9;

struct Args {
  std::string model = "mlp";  // mlp | cnn
  long steps = 100;           // timed steps
  long warmup = 10;           // untimed steps before them
};

[[noreturn]] inline void usage(const char* program, const char* problem) {
  if (problem) std::fprintf(stderr, "%s: %s\n", program, problem);
  std::fprintf(stderr,
               "usage: %s [--model mlp|cnn] [--steps N] [--warmup W]\n"
               "  trains the model on random Fashion-MNIST-shaped batches of %lld (cross-entropy,\n"
               "  SGD lr %g momentum %g) and prints one line: steps/s over the N timed steps after\n"
               "  W untimed ones, and the process's peak RSS.\n",
               program, static_cast<long long>(kBatch), kLearningRate, kMomentum);
  std::exit(problem ? 2 : 0);
}

inline long parse_count(const char* program, const char* flag, const char* text, long min) {
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || value < min)
    usage(program, (std::string(flag) + " wants an integer >= " + std::to_string(min) + ", got '" + text + "'").c_str());
  return value;
}

inline Args parse_args(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "-h" || flag == "--help") usage(argv[0], nullptr);
    if (i + 1 >= argc) usage(argv[0], ("missing value after " + flag).c_str());
    const char* value = argv[++i];
    if (flag == "--model") {
      args.model = value;
      if (args.model != "mlp" && args.model != "cnn") usage(argv[0], ("unknown model '" + args.model + "'").c_str());
    } else if (flag == "--steps") {
      args.steps = parse_count(argv[0], "--steps", value, 1);
    } else if (flag == "--warmup") {
      args.warmup = parse_count(argv[0], "--warmup", value, 0);
    } else {
      usage(argv[0], ("unknown flag " + flag).c_str());
    }
  }
  return args;
}

/// kBatchesInPool batches: images uniform in [0, 1), labels uniform in 0..9,
/// from a seeded SplitMix64 stream (the same numbers in both programs).
struct Data {
  std::vector<float> images;          // [kBatchesInPool][kBatch][1][28][28]
  std::vector<std::int64_t> labels;   // [kBatchesInPool][kBatch]
};

inline Data make_data(std::uint64_t seed = kSeed) {
  std::uint64_t state = seed;
  auto next = [&state] {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  };
  Data data;
  data.images.resize(static_cast<std::size_t>(kBatchesInPool * kBatch * kImageSize));
  for (float& x : data.images) x = static_cast<float>(next() >> 40) * (1.0f / 16777216.0f);
  data.labels.resize(static_cast<std::size_t>(kBatchesInPool * kBatch));
  for (std::int64_t& y : data.labels) y = static_cast<std::int64_t>(next() % kClasses);
  return data;
}

/// The process's peak resident set size so far, in KiB (Linux's ru_maxrss unit).
inline long peak_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

struct Result {
  const char* library;
  std::string model;
  Args args;
  double seconds;      // wall time of the timed steps
  double last_loss;    // loss of the last step: a sanity check that training ran
  int threads;         // the thread count the library was told to use
  std::string blas_core;
  std::string float_gemm;  // the library that runs float32 matrix products
  std::string conv;        // ... and the convolutions (the CNN's 32→64 one)
};

/// One line, `train_result key=value ...`, for bench/compare_training.sh.
inline void print_result(const Result& r) {
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  std::printf(
      "train_result library=%s model=%s steps=%ld warmup=%ld batch=%lld seconds=%.4f steps_per_s=%.3f "
      "peak_rss_kib=%ld threads=%d openblas_core=%s openblas_coretype=%s float_gemm=%s conv=%s last_loss=%.4f\n",
      r.library, r.model.c_str(), r.args.steps, r.args.warmup, static_cast<long long>(kBatch), r.seconds,
      static_cast<double>(r.args.steps) / r.seconds, peak_rss_kib(), r.threads, r.blas_core.c_str(),
      coretype && *coretype ? coretype : "-", r.float_gemm.c_str(), r.conv.c_str(), r.last_loss);
  std::fflush(stdout);
}

}  // namespace bench::train
