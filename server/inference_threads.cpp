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
  wake_.notify_all();
  return true;
}

void InferenceThreads::wake() { wake_.notify_all(); }

void InferenceThreads::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
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
  if (lane == 0) lead_running_batch_ = true;
  wake_.notify_all();  // the other lanes may take the next batch meanwhile
  lock.unlock();
  batcher->run(batch, lane);
  lock.lock();
  if (lane == 0) lead_running_batch_ = false;
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

void InferenceThreads::wait(std::unique_lock<std::mutex>& lock) {
  Steady::time_point due;
  if (next_due(&due)) {
    wake_.wait_until(lock, due);
  } else {
    wake_.wait(lock);
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
    wait(lock);
  }
}

void InferenceThreads::one_thread_loop(int lane) {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    if (lead_running_batch_ && run_one_due(lock, lane)) continue;
    Steady::time_point due;
    if (stopping_ && !next_due(&due)) return;
    if (lead_running_batch_) {
      wait(lock);
    } else {
      wake_.wait(lock);  // until lane 0 takes a batch
    }
  }
}

}  // namespace sparrow::server
