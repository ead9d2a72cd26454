// A one-line progress display on stderr: bar, count, rate and ETA.
#pragma once

#include <chrono>
#include <string>

namespace sparrow::cli {

class ProgressBar {
 public:
  // `unit` names what is counted in the rate (img/s, layers/s).
  ProgressBar(std::string label, size_t total, std::string unit = "img");
  // Redraws at most a few times a second; the last update always draws.
  void update(size_t done);
  void finish();

 private:
  std::string label_;
  std::string unit_;
  size_t total_;
  std::chrono::steady_clock::time_point start_, last_draw_;
  bool interactive_;
};

}  // namespace sparrow::cli
