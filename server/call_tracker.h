// Counts the calls the server has accepted and not yet answered, so that shutdown can stop
// accepting, wait for exactly those, and then close the rest (health Watch streams) at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <condition_variable>
#include <memory>
#include <mutex>

namespace sparrow::server {

class CallTracker {
 public:
  // A token held for as long as a call is in flight (copies share it); null when the server no
  // longer accepts calls.
  std::shared_ptr<void> enter();
  bool accepting() const;
  // Stops accepting and waits until every token is released or the deadline passes; returns
  // whether all were.
  bool stop_and_wait(std::chrono::steady_clock::time_point deadline);
  // Calls accepted since start, and how many of them are still unanswered.
  int64_t accepted() const;
  int in_flight() const;

 private:
  mutable std::mutex mutex_;
  std::condition_variable idle_;
  int in_flight_ = 0;
  int64_t accepted_ = 0;
  bool accepting_ = true;
};

}  // namespace sparrow::server
