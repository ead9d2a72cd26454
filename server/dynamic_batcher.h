// The dynamic batcher in front of a model's engines: items (one image or tensor each) queue up
// and leave in batches of up to max_batch_size, each once it is full or its first item has
// waited max_queue_delay. The server's InferenceThreads take the batches, on one of their lanes:
// the batcher has every item write its input into the batch (decoding images, in parallel on the
// engine's own threads, so pre-processing never competes with inference for cores), runs the
// smallest engine that fits, and hands each item its slice of the output (post-processing in
// parallel on the same threads).
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sparrow/engine.h"

namespace sparrow::server {

class InferenceThreads;
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
  // message, empty on success. Runs on one of the engine's threads, concurrently with other items.
  std::function<std::string(float* dst)> prepare;
  std::chrono::system_clock::time_point deadline = std::chrono::system_clock::time_point::max();
  std::function<bool()> cancelled;                                    // may be empty
  // On one of the engine's threads, concurrently with other items of the batch, as prepare.
  std::function<void(const ItemResult&)> done;
  std::function<void(ItemFailure, const std::string& message)> failed;  // on an inference lane
  std::chrono::steady_clock::time_point enqueued;
};

struct BatcherOptions {
  std::chrono::microseconds max_queue_delay{2000};
  size_t capacity = 256;  // items reserved (being pre-processed or queued)
};

class DynamicBatcher {
 public:
  // `engines` hold increasing batch sizes; the last one's is the largest batch formed. `threads`
  // run the batches and must outlive the batcher.
  DynamicBatcher(std::string model, std::vector<std::shared_ptr<const Engine>> engines, BatcherOptions options,
                 Metrics* metrics, InferenceThreads& threads);
  ~DynamicBatcher();  // detaches from the threads; drain() first if items may be queued

  // Claims room for n items before they are pre-processed.
  enum class Reservation { kReserved, kQueueFull, kDraining };
  Reservation reserve(size_t n);
  // Returns claimed room that will not be used (pre-processing failed).
  void release(size_t n);
  // Queues an item that holds a reservation.
  void submit(BatchItem item);
  // Stops taking new reservations and waits until everything reserved or queued has run.
  void drain();

  size_t depth() const;
  int64_t max_batch_size() const { return engines_.back()->batch_size(); }
  int64_t items_inferred() const;

 private:
  friend class InferenceThreads;
  // Under the thread's mutex: whether items are queued, and when their batch is due (its first
  // item's arrival if the batch is full or the batcher draining, max_queue_delay later if not).
  bool due(std::chrono::steady_clock::time_point* at) const;
  std::vector<BatchItem> take_batch();
  void ran(size_t items);
  // Without the lock, on lane `lane` of the inference threads; calls inferred() once the engine
  // has run, before the items' post-processing.
  void run(std::vector<BatchItem>& batch, int lane, const std::function<void()>& inferred);
  // The smallest engine whose batch holds `items`.
  size_t engine_index(size_t items) const;

  const std::string model_;
  const std::vector<std::shared_ptr<const Engine>> engines_;
  const BatcherOptions options_;
  Metrics* const metrics_;
  InferenceThreads& threads_;
  // Reusable input and output tensors per lane and engine: a lane is their only user.
  std::vector<std::vector<std::vector<Tensor>>> inputs_, outputs_;

  // Guarded by threads_.mutex().
  std::condition_variable drained_;
  std::deque<BatchItem> queue_;
  size_t reserved_ = 0;  // items reserved and not yet taken into a batch
  size_t running_ = 0;   // items in the batches being run
  int64_t inferred_ = 0;
  bool draining_ = false;
};

}  // namespace sparrow::server
