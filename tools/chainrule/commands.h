#pragma once
// The subcommands of the chainrule program.

#include <cstdint>
#include <string>

namespace cr::tools {

inline constexpr const char* kDefaultDataDir = "/usr/share/datasets/fashion-mnist";

struct TrainConfig {
  std::string model = "mlp";
  int epochs = 3;
  std::int64_t batch_size = 128;
  double lr = 0;  // 0: the optimizer's default (0.05 for sgd, 1e-3 for adam/adamw)
  std::string optimizer = "adam";
  double weight_decay = 0;
  std::string schedule = "cosine";  // or "none"
  bool augment = false;             // random crop + flip of training images
  std::uint64_t seed = 0;
  std::string data_dir = kDefaultDataDir;
  std::string save_path;  // empty: no checkpoint
  std::int64_t limit = 0;  // train on the first `limit` images only (0: all)
  bool grad_report = true;
};

struct EvalConfig {
  std::string model = "mlp";
  std::string load_path;
  std::string data_dir = kDefaultDataDir;
  std::int64_t batch_size = 1000;
};

/// Trains and prints progress, per-epoch test accuracy and a summary. Returns the exit code.
int run_train(const TrainConfig& config);
/// Loads a checkpoint and prints its test loss and accuracy. Returns the exit code.
int run_eval(const EvalConfig& config);

}  // namespace cr::tools
