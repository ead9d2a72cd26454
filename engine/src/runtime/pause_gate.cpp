#include "runtime/pause_gate.h"

namespace sparrow::runtime {

PauseGate::PauseGate(int streams, std::function<bool()> waiting, std::function<void()> work)
    : waiting_(std::move(waiting)), work_(std::move(work)), inside_(streams) {}

void PauseGate::between_batches() {
  if (!waiting_) return;
  std::unique_lock<std::mutex> lock(mutex_);
  --inside_;
  changed_.notify_all();
  if (!pausing_ && waiting_()) {
    pausing_ = true;
    changed_.wait(lock, [this] { return inside_ == 0; });
    const auto start = std::chrono::steady_clock::now();
    lock.unlock();
    work_();
    lock.lock();
    paused_ += std::chrono::steady_clock::now() - start;
    pausing_ = false;
    changed_.notify_all();
  } else {
    changed_.wait(lock, [this] { return !pausing_; });
  }
  ++inside_;
}

void PauseGate::leave() {
  std::lock_guard<std::mutex> lock(mutex_);
  --inside_;
  changed_.notify_all();
}

std::chrono::steady_clock::duration PauseGate::paused() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return paused_;
}

}  // namespace sparrow::runtime
