#pragma once
// A one-line progress bar for training: batches/s, running loss, ETA.
// On a terminal it redraws in place; in a log it prints a line every 10%.

#include <chrono>
#include <cstdint>
#include <string>

namespace cr::tools {

class ProgressBar {
 public:
  ProgressBar(std::string label, std::int64_t total);
  /// Marks one more batch done with its loss.
  void update(double loss);
  /// Ends the line; returns seconds since the bar started.
  double finish();

 private:
  void draw(bool final);

  std::string label_;
  std::int64_t total_;
  std::int64_t done_ = 0;
  double loss_sum_ = 0;
  bool interactive_;
  std::int64_t last_logged_decile_ = -1;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

/// "1:05" or "1:02:03".
std::string format_duration(double seconds);

}  // namespace cr::tools
