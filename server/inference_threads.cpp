#include "inference_threads.h"

#include <algorithm>

#include "dynamic_batcher.h"

namespace sparrow::server {

InferenceThreads::InferenceThreads(int lanes) {
  threads_.emplace_back([this] { lead_loop(); });
  for (int lane = 1; lane < lanes; ++lane) threads_.emplace_back([this, lane] { one_thread_loop(lane); });
}

InferenceThreads::~InferenceThreads() { stop(); }

void InferenceThreads::attach(DynamicBatcher* batcher) {
  std::lock_guard<std::mutex> lock(mutex_);
  batchers_.push_back(batcher);
}

void InferenceThreads::detach(DynamicBatcher* batcher) {
  std::lock_guard<std::mutex> lock(mutex_);
  batchers_.erase(std::remove(batchers_.begin(), batchers_.end(), batcher), batchers_.end());
}

bool InferenceThreads::run_task(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return false;
    tasks_.push_back(std::move(task));
  }
  lead_wake_.notify_one();
  return true;
}

void InferenceThreads::wake() {
  bool others = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    others = lead_running_batch_;
  }
  lead_wake_.notify_one();
  if (others) others_wake_.notify_all();
}

void InferenceThreads::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  lead_wake_.notify_all();
  others_wake_.notify_all();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
}

DynamicBatcher* InferenceThreads::next_due(Steady::time_point* due) const {
  DynamicBatcher* first = nullptr;
  for (DynamicBatcher* b : batchers_) {
    Steady::time_point t;
    if (b->due(&t) && (!first || t < *due)) {
      first = b;
      *due = t;
    }
  }
  return first;
}

bool InferenceThreads::run_one_due(std::unique_lock<std::mutex>& lock, int lane) {
  Steady::time_point due;
  DynamicBatcher* batcher = next_due(&due);
  if (!batcher || due > Steady::now()) return false;
  std::vector<BatchItem> batch = batcher->take_batch();
  if (lane == 0) {
    lead_running_batch_ = true;
    if (next_due(&due)) others_wake_.notify_all();  // one of them may take the next batch meanwhile
  }
  lock.unlock();
  // Lane 0 counts as busy only while its engine runs: a request that arrives while it
  // post-processes (the next one of a client sending one at a time) waits the millisecond for it
  // rather than going to a one-thread lane.
  bool cleared = false;
  auto inferred = [&] {
    if (lane != 0) return;
    std::lock_guard<std::mutex> guard(mutex_);
    lead_running_batch_ = false;
    cleared = true;
  };
  batcher->run(batch, lane, inferred);
  lock.lock();
  if (lane == 0 && !cleared) lead_running_batch_ = false;  // the batch ended before inference
  batcher->ran(batch.size());
  return true;
}

bool InferenceThreads::batch_due() {
  std::lock_guard<std::mutex> lock(mutex_);
  Steady::time_point due;
  return next_due(&due) && due <= Steady::now();
}

void InferenceThreads::run_due_batches() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (run_one_due(lock, 0)) {
  }
}

void InferenceThreads::wait(std::unique_lock<std::mutex>& lock, std::condition_variable& cv) {
  Steady::time_point due;
  if (next_due(&due)) {
    cv.wait_until(lock, due);
  } else {
    cv.wait(lock);
  }
}

// Tasks go before batches: they were waiting for the batch that just ran.
void InferenceThreads::lead_loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    if (!tasks_.empty()) {
      std::function<void()> task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      lock.lock();
      continue;
    }
    if (run_one_due(lock, 0)) continue;
    Steady::time_point due;
    if (stopping_ && !next_due(&due)) return;
    wait(lock, lead_wake_);
  }
}

void InferenceThreads::one_thread_loop(int lane) {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    if (lead_running_batch_ && run_one_due(lock, lane)) continue;
    Steady::time_point due;
    if (stopping_ && !next_due(&due)) return;
    if (lead_running_batch_) {
      wait(lock, others_wake_);
    } else {
      others_wake_.wait(lock);  // until lane 0 is busy and a batch is queued
    }
  }
}

}  // namespace sparrow::server
