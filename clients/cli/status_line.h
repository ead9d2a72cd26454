// A live one-line status on stderr: redrawn in place on a terminal, a line every few seconds when
// stderr is redirected (so logs stay short).
#pragma once

#include <chrono>
#include <string>

namespace sparrow::client {

class StatusLine {
 public:
  StatusLine();
  // Shows `text` unless the last draw was too recent; `force` draws anyway.
  void update(const std::string& text, bool force = false);
  // Clears the line on a terminal, so what is printed next starts on a clean line.
  void clear();

 private:
  bool interactive_;
  bool drawn_ = false;
  size_t width_ = 0;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace sparrow::client
