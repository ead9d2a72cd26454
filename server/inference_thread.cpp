#include "inference_thread.h"

#include <algorithm>

#include "dynamic_batcher.h"

namespace sparrow::server {

InferenceThread::InferenceThread() : thread_([this] { loop(); }) {}

InferenceThread::~InferenceThread() { stop(); }

void InferenceThread::attach(DynamicBatcher* batcher) {
  std::lock_guard<std::mutex> lock(mutex_);
  batchers_.push_back(batcher);
}

void InferenceThread::detach(DynamicBatcher* batcher) {
  std::lock_guard<std::mutex> lock(mutex_);
  batchers_.erase(std::remove(batchers_.begin(), batchers_.end(), batcher), batchers_.end());
}

bool InferenceThread::run_task(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return false;
    tasks_.push_back(std::move(task));
  }
  wake_.notify_all();
  return true;
}

void InferenceThread::wake() { wake_.notify_all(); }

void InferenceThread::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

DynamicBatcher* InferenceThread::next_due(Steady::time_point* due) const {
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

bool InferenceThread::run_one_due(std::unique_lock<std::mutex>& lock) {
  Steady::time_point due;
  DynamicBatcher* batcher = next_due(&due);
  if (!batcher || due > Steady::now()) return false;
  std::vector<BatchItem> batch = batcher->take_batch();
  lock.unlock();
  batcher->run(batch);
  lock.lock();
  batcher->ran(batch.size());
  return true;
}

bool InferenceThread::batch_due() {
  std::lock_guard<std::mutex> lock(mutex_);
  Steady::time_point due;
  return next_due(&due) && due <= Steady::now();
}

void InferenceThread::run_due_batches() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (run_one_due(lock)) {
  }
}

// Tasks go before batches: they were waiting for the batch that just ran.
void InferenceThread::loop() {
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
    if (run_one_due(lock)) continue;
    Steady::time_point due;
    if (next_due(&due)) {
      wake_.wait_until(lock, due);
    } else if (stopping_) {
      return;
    } else {
      wake_.wait(lock);
    }
  }
}

}  // namespace sparrow::server
