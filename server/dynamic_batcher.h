// The dynamic batcher in front of a model's engines: items (one image or tensor each) queue up,
// one thread forms batches of up to max_batch_size, waiting at most max_queue_delay for the
// first item, has every item write its input into the batch (decoding images, in parallel on the
// engine's own OpenMP threads, so pre-processing never competes with inference for cores), runs
// the smallest engine that fits, and hands each item its slice of the output (post-processing in
// parallel on the same threads).
//
// That thread is the only one that runs the model's engines once it is serving: other engine
// work (a server-side benchmark) comes in as a task. libgomp keeps a pool of spinning threads for
// every thread that has started a parallel region, for that thread's lifetime, and once pools
// hold more threads than there are cores it makes every barrier sleep instead of spin, which made
// the Benchmark RPC 10-13 % slower than the same benchmark in process on 2 cores.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sparrow/engine.h"

namespace sparrow::server {

class Metrics;

struct ItemResult {
  const float* output = nullptr;  // this item's rows of the engine's first output
  double queue_ms = 0;      // from submit() to the batch's start
  double prepare_ms = 0;    // the batch's input preparation (decoding, letterboxing)
  double inference_ms = 0;  // the batch's engine run
  int batch_items = 0;
};

// Why an item was not inferred.
enum class ItemFailure { kDeadlineExceeded, kCancelled, kShutdown, kInvalidInput, kEngineError };

struct BatchItem {
  // Writes exactly one item of the engines' input (C x H x W floats) to dst; returns an error
  // message, empty on success. Runs on an inference thread, concurrently with other items.
  std::function<std::string(float* dst)> prepare;
  std::chrono::system_clock::time_point deadline = std::chrono::system_clock::time_point::max();
  std::function<bool()> cancelled;                                    // may be empty
  // On an inference thread, concurrently with other items of the batch, as prepare.
  std::function<void(const ItemResult&)> done;
  std::function<void(ItemFailure, const std::string& message)> failed;  // on the batcher thread
  std::chrono::steady_clock::time_point enqueued;
};

struct BatcherOptions {
  std::chrono::microseconds max_queue_delay{2000};
  size_t capacity = 256;  // items reserved (being pre-processed or queued)
};

class DynamicBatcher {
 public:
  // `engines` hold increasing batch sizes; the last one's is the largest batch formed.
  DynamicBatcher(std::string model, std::vector<std::shared_ptr<const Engine>> engines, BatcherOptions options,
                 Metrics* metrics);
  ~DynamicBatcher();

  // Claims room for n items before they are pre-processed; false when the queue is full.
  bool reserve(size_t n);
  // Returns claimed room that will not be used (pre-processing failed).
  void release(size_t n);
  // Queues an item that holds a reservation.
  void submit(BatchItem item);
  // Queues a task to run on the batcher thread between two batches, with the engines to itself
  // (items queue meanwhile). It must not throw. False, and not queued, once draining.
  bool run_exclusive(std::function<void()> task);
  // Stops taking new reservations, runs everything queued, and joins the thread.
  void drain();

  size_t depth() const;
  int64_t max_batch_size() const { return engines_.back()->batch_size(); }
  int64_t items_inferred() const;

 private:
  void loop();
  std::vector<BatchItem> next_batch(std::unique_lock<std::mutex>& lock);
  void run(std::vector<BatchItem>& batch);
  // The smallest engine whose batch holds `items`.
  size_t engine_index(size_t items) const;

  const std::string model_;
  const std::vector<std::shared_ptr<const Engine>> engines_;
  const BatcherOptions options_;
  Metrics* const metrics_;
  // Reusable input and output tensors per engine: the batcher thread is their only user.
  std::vector<std::vector<Tensor>> inputs_, outputs_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<BatchItem> queue_;
  std::deque<std::function<void()>> tasks_;
  size_t reserved_ = 0;
  int64_t inferred_ = 0;
  bool draining_ = false;
  std::thread thread_;
};

}  // namespace sparrow::server
