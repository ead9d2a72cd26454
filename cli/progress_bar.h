// A one-line progress display on stderr: bar, count, rate and ETA.
#pragma once

#include <chrono>
#include <string>

namespace sparrow::cli {

class ProgressBar {
 public:
  ProgressBar(std::string label, size_t total);
  // Redraws at most a few times a second; the last update always draws.
  void update(size_t done);
  void finish();

 private:
  std::string label_;
  size_t total_;
  std::chrono::steady_clock::time_point start_, last_draw_;
  bool interactive_;
};

}  // namespace sparrow::cli
