#include "call_tracker.h"

namespace sparrow::server {

std::shared_ptr<void> CallTracker::enter() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!accepting_) return nullptr;
  ++in_flight_;
  ++accepted_;
  return std::shared_ptr<void>(this, [](void* self) {
    auto* tracker = static_cast<CallTracker*>(self);
    std::lock_guard<std::mutex> released(tracker->mutex_);
    if (--tracker->in_flight_ == 0) tracker->idle_.notify_all();
  });
}

int64_t CallTracker::accepted() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return accepted_;
}

int CallTracker::in_flight() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return in_flight_;
}

bool CallTracker::accepting() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return accepting_;
}

bool CallTracker::stop_and_wait(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mutex_);
  accepting_ = false;
  return idle_.wait_until(lock, deadline, [this] { return in_flight_ == 0; });
}

}  // namespace sparrow::server
