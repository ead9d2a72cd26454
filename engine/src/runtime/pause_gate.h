// Lets concurrent benchmark streams be stopped between batches so that other work (a server's
// queued requests) runs on the cores alone, and keeps the time that took out of the results.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>

namespace sparrow::runtime {

class PauseGate {
 public:
  // `streams` loops start inside the gate. waiting() is asked between batches; when it is true,
  // work() runs once no stream is inside a batch. work() must not throw.
  PauseGate(int streams, std::function<bool()> waiting, std::function<void()> work);

  // Called by a stream between two batches: may run work() or wait while another stream does.
  void between_batches();
  // Called by a stream that will run no more batches.
  void leave();
  // Time spent in work() so far.
  std::chrono::steady_clock::duration paused() const;

 private:
  const std::function<bool()> waiting_;
  const std::function<void()> work_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  int inside_;  // streams in a batch, or between two batches and not waiting here
  bool pausing_ = false;
  std::chrono::steady_clock::duration paused_{};
};

}  // namespace sparrow::runtime
