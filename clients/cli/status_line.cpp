#include "status_line.h"

#include <unistd.h>

#include <cstdio>

namespace sparrow::client {

StatusLine::StatusLine() : interactive_(isatty(STDERR_FILENO) != 0) {}

void StatusLine::update(const std::string& text, bool force) {
  const auto now = std::chrono::steady_clock::now();
  const auto interval = interactive_ ? std::chrono::milliseconds(200) : std::chrono::milliseconds(2000);
  if (drawn_ && !force && now - last_draw_ < interval) return;
  last_draw_ = now;
  drawn_ = true;
  if (interactive_) {
    // Pad over what a longer previous text left behind.
    std::fprintf(stderr, "\r%s%*s", text.c_str(), static_cast<int>(width_ > text.size() ? width_ - text.size() : 0), "");
    width_ = text.size();
  } else {
    std::fprintf(stderr, "%s\n", text.c_str());
  }
  std::fflush(stderr);
}

void StatusLine::clear() {
  if (interactive_ && width_ > 0) std::fprintf(stderr, "\r%*s\r", static_cast<int>(width_), "");
  std::fflush(stderr);
  width_ = 0;
  drawn_ = false;
}

}  // namespace sparrow::client
