#include "progress.h"

#include <unistd.h>

#include <cstdio>

namespace cr::tools {

std::string format_duration(double seconds) {
  const auto total = static_cast<long>(seconds + 0.5);
  char buffer[32];
  if (total >= 3600) std::snprintf(buffer, sizeof buffer, "%ld:%02ld:%02ld", total / 3600, total / 60 % 60, total % 60);
  else std::snprintf(buffer, sizeof buffer, "%ld:%02ld", total / 60, total % 60);
  return buffer;
}

ProgressBar::ProgressBar(std::string label, std::int64_t total)
    : label_(std::move(label)),
      total_(total),
      interactive_(isatty(fileno(stderr)) != 0),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

void ProgressBar::update(double loss) {
  ++done_;
  loss_sum_ += loss;
  const auto now = std::chrono::steady_clock::now();
  if (interactive_) {
    // Redrawing costs a write(2); a few times a second is plenty.
    if (now - last_draw_ > std::chrono::milliseconds(100) || done_ == total_) {
      last_draw_ = now;
      draw(false);
    }
  } else if (const std::int64_t decile = done_ * 10 / total_; decile != last_logged_decile_ && decile > 0) {
    last_logged_decile_ = decile;
    draw(false);
  }
}

void ProgressBar::draw(bool final) {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
  const double eta = rate > 0 ? static_cast<double>(total_ - done_) / rate : 0.0;
  constexpr int kWidth = 24;
  const int filled = total_ > 0 ? static_cast<int>(kWidth * done_ / total_) : kWidth;
  std::string bar(static_cast<std::size_t>(filled), '=');
  if (filled < kWidth) bar += '>' + std::string(static_cast<std::size_t>(kWidth - filled - 1), ' ');
  std::fprintf(stderr, "%s%s [%s] %lld/%lld  %.1f batch/s  loss %.4f  %s %s%s", interactive_ ? "\r" : "",
               label_.c_str(), bar.c_str(), static_cast<long long>(done_), static_cast<long long>(total_), rate,
               done_ ? loss_sum_ / static_cast<double>(done_) : 0.0, final ? "took" : "ETA",
               format_duration(final ? elapsed : eta).c_str(), interactive_ && !final ? "" : "\n");
  std::fflush(stderr);
}

double ProgressBar::finish() {
  if (interactive_) draw(true);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

}  // namespace cr::tools
