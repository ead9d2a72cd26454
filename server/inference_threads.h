// The threads that run every served model's engines: one lane per core.
//
// Lane 0 runs batches on the engines' whole team (or one thread while that measures faster) and
// runs other engine work (a server-side benchmark) as tasks between batches. The other lanes run
// a batch on one thread each, and only while lane 0 is busy with a batch. A lone request is so
// answered at the team's speed, while under load every core runs a batch of its own: one thread
// per batch has no barriers to wait at, and two 1-thread runs of yolov5n side by side did 61
// items/s on 2 cores where one 2-thread run did 52. While both lanes run, lane 0's own team is
// contended and measures itself faster on one thread too.
//
// Every lane takes the due batch whose first item has waited longest, whatever its model, so
// models share the cores batch by batch. Only lane 0 starts parallel regions: libgomp keeps a
// pool of threads for every thread that does, and once the pools hold more threads than there
// are cores it makes every barrier sleep instead of spin (10-13 % slower runs).
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

class InferenceThreads {
 public:
  // `lanes` threads in all (at least 1): lane 0 and lanes - 1 one-thread lanes.
  explicit InferenceThreads(int lanes);
  ~InferenceThreads();  // stop()

  int lanes() const { return static_cast<int>(threads_.size()); }
  // Batchers register before they take items, and leave once drained.
  void attach(DynamicBatcher* batcher);
  void detach(DynamicBatcher* batcher);
  // Queues a task for lane 0, to run between two batches; the other lanes take batches only while
  // the task runs due batches itself. It must not throw. False, and not queued, once stopping.
  bool run_task(std::function<void()> task);
  // For a running task: whether a batch is due, and running every batch that is due now.
  bool batch_due();
  void run_due_batches();
  // Wakes the lanes: a batcher's queue changed. Called without the mutex held.
  void wake();
  // Runs what is queued, then ends the threads. Batchers must be drained first.
  void stop();

  // Guards every attached batcher's queue, so that one wait covers them all.
  std::mutex& mutex() { return mutex_; }

 private:
  using Steady = std::chrono::steady_clock;
  void lead_loop();
  void one_thread_loop(int lane);
  // The batcher whose batch is due first, and when; nullptr if every queue is empty.
  DynamicBatcher* next_due(Steady::time_point* due) const;
  // Takes and runs the next due batch on `lane`; false if none is due now. Called and returns
  // with the lock held.
  bool run_one_due(std::unique_lock<std::mutex>& lock, int lane);
  // Waits on `cv` until a batch may be due or it is notified.
  void wait(std::unique_lock<std::mutex>& lock, std::condition_variable& cv);

  std::mutex mutex_;
  // Lane 0 and the other lanes wait apart: a wake-up of a thread with nothing to do still takes
  // a core from a running batch for a moment, so the other lanes are woken only when lane 0 is
  // busy and a batch is queued.
  std::condition_variable lead_wake_, others_wake_;
  std::vector<DynamicBatcher*> batchers_;
  std::deque<std::function<void()>> tasks_;
  bool lead_running_batch_ = false;  // lane 0 runs a batch: the other lanes may take one
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace sparrow::server
