#include "progress_bar.h"

#include <unistd.h>

#include <cstdio>

namespace sparrow::cli {

ProgressBar::ProgressBar(std::string label, size_t total, std::string unit)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), start_(std::chrono::steady_clock::now()), last_draw_(start_),
      interactive_(isatty(STDERR_FILENO) != 0) {}

void ProgressBar::update(size_t done) {
  const auto now = std::chrono::steady_clock::now();
  // Redirected output gets a line per tenth of the work instead of carriage-return redraws.
  const bool last = done >= total_;
  if (interactive_ && !last && now - last_draw_ < std::chrono::milliseconds(200)) return;
  if (!interactive_ && !last && (total_ < 10 || done % (total_ / 10) != 0)) return;
  last_draw_ = now;
  const double seconds = std::chrono::duration<double>(now - start_).count();
  const double rate = seconds > 0 ? done / seconds : 0;
  const double eta = rate > 0 ? (total_ - done) / rate : 0;
  constexpr int kWidth = 30;
  const int filled = total_ ? static_cast<int>(kWidth * done / total_) : kWidth;
  std::string bar(filled, '=');
  bar.resize(kWidth, ' ');
  std::fprintf(stderr, "%s%s [%s] %zu/%zu  %.1f %s/s  ETA %.0fs%s", interactive_ ? "\r" : "", label_.c_str(), bar.c_str(),
               done, total_, rate, unit_.c_str(), eta, interactive_ ? "   " : "\n");
  std::fflush(stderr);
}

void ProgressBar::finish() {
  if (interactive_) std::fprintf(stderr, "\n");
}

}  // namespace sparrow::cli
