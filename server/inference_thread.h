// The one thread that runs every served model's engines.
//
// It takes the due batch whose first item has waited longest, whatever its model, so models
// share the cores batch by batch, and runs other engine work (a server-side benchmark) as tasks
// between batches. One thread means one libgomp pool: libgomp keeps a pool of threads for every
// thread that starts a parallel region, for as long as that thread lives, and once the pools
// hold more threads than there are cores it makes every barrier sleep instead of spin; with a
// thread per model, serving two models made each run 10-13 % slower than in process.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace sparrow::server {

class DynamicBatcher;

class InferenceThread {
 public:
  InferenceThread();
  ~InferenceThread();  // stop()

  // Batchers register before they take items, and leave once drained.
  void attach(DynamicBatcher* batcher);
  void detach(DynamicBatcher* batcher);
  // Queues a task to run between two batches. It must not throw. False, and not queued, once
  // stopping.
  bool run_task(std::function<void()> task);
  // For a running task: whether a batch is due, and running every batch that is due now.
  bool batch_due();
  void run_due_batches();
  // Wakes the thread: a batcher's queue changed.
  void wake();
  // Runs what is queued, then ends the thread. Batchers must be drained first.
  void stop();

  // Guards every attached batcher's queue, so that one wait covers them all.
  std::mutex& mutex() { return mutex_; }

 private:
  using Steady = std::chrono::steady_clock;
  void loop();
  // The batcher whose batch is due first, and when; nullptr if every queue is empty.
  DynamicBatcher* next_due(Steady::time_point* due) const;
  // Takes and runs the next due batch; false if none is due now. Called and returns with the lock held.
  bool run_one_due(std::unique_lock<std::mutex>& lock);

  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<DynamicBatcher*> batchers_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace sparrow::server
