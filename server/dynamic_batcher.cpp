#include "dynamic_batcher.h"

#include <algorithm>
#include <cstring>

#include "metrics.h"
#include "sparrow/error.h"

namespace sparrow::server {
namespace {

using Steady = std::chrono::steady_clock;

double ms_between(Steady::time_point a, Steady::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

}  // namespace

DynamicBatcher::DynamicBatcher(std::string model, std::vector<std::shared_ptr<const Engine>> engines,
                               BatcherOptions options, Metrics* metrics)
    : model_(std::move(model)), engines_(std::move(engines)), options_(options), metrics_(metrics) {
  if (engines_.empty()) throw Error(ErrorCode::kInternal, "a batcher needs at least one engine");
  for (const auto& engine : engines_) {
    inputs_.push_back({Tensor(engine->inputs()[0].dtype, engine->inputs()[0].shape)});
    outputs_.emplace_back();
  }
  thread_ = std::thread([this] { loop(); });
}

DynamicBatcher::~DynamicBatcher() { drain(); }

bool DynamicBatcher::reserve(size_t n) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (draining_ || reserved_ + n > options_.capacity) return false;
  reserved_ += n;
  metrics_->queue_depth(model_, queue_.size());
  return true;
}

void DynamicBatcher::release(size_t n) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    reserved_ -= std::min(n, reserved_);
  }
  wake_.notify_all();  // a drain may be waiting for the last reservation
}

void DynamicBatcher::submit(BatchItem item) {
  item.enqueued = Steady::now();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(item));
    metrics_->queue_depth(model_, queue_.size());
  }
  wake_.notify_one();
}

bool DynamicBatcher::run_exclusive(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (draining_) return false;
    tasks_.push_back(std::move(task));
  }
  wake_.notify_one();
  return true;
}

void DynamicBatcher::drain() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    draining_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

size_t DynamicBatcher::depth() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.size();
}

int64_t DynamicBatcher::items_inferred() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return inferred_;
}

size_t DynamicBatcher::engine_index(size_t items) const {
  for (size_t i = 0; i < engines_.size(); ++i) {
    if (static_cast<size_t>(engines_[i]->batch_size()) >= items) return i;
  }
  return engines_.size() - 1;
}

// With an item queued, waits until the batch is full or the first item has waited
// max_queue_delay; while draining, takes the items queued at once. Empty only when drained.
std::vector<BatchItem> DynamicBatcher::next_batch(std::unique_lock<std::mutex>& lock) {
  const size_t max_items = static_cast<size_t>(max_batch_size());
  if (queue_.empty()) return {};
  const auto flush_at = queue_.front().enqueued + options_.max_queue_delay;
  wake_.wait_until(lock, flush_at, [&] { return draining_ || queue_.size() >= max_items; });
  std::vector<BatchItem> batch;
  while (!queue_.empty() && batch.size() < max_items) {
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  reserved_ -= std::min(batch.size(), reserved_);
  metrics_->queue_depth(model_, queue_.size());
  return batch;
}

// Tasks go before batches: they were waiting for the batch that just ran. While draining, the
// loop still waits for items that hold a reservation but are not queued yet.
void DynamicBatcher::loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return !tasks_.empty() || !queue_.empty() || (draining_ && reserved_ == 0); });
    if (!tasks_.empty()) {
      std::function<void()> task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      lock.lock();
      continue;
    }
    std::vector<BatchItem> batch = next_batch(lock);
    if (batch.empty()) return;  // drained: nothing queued, nothing reserved
    lock.unlock();
    run(batch);
    lock.lock();
    inferred_ += static_cast<int64_t>(batch.size());
  }
}

void DynamicBatcher::run(std::vector<BatchItem>& batch) {
  // Expired and cancelled items are answered now and never reach the engine.
  const auto now = std::chrono::system_clock::now();
  std::vector<BatchItem*> live;
  for (BatchItem& item : batch) {
    if (item.deadline <= now) {
      item.failed(ItemFailure::kDeadlineExceeded, "deadline exceeded while queued");
    } else if (item.cancelled && item.cancelled()) {
      item.failed(ItemFailure::kCancelled, "cancelled by the client");
    } else {
      live.push_back(&item);
    }
  }
  if (live.empty()) return;

  const size_t index = engine_index(live.size());
  const Engine& engine = *engines_[index];
  Tensor& input = inputs_[index][0];
  const size_t item_floats = static_cast<size_t>(input.size() / engine.batch_size());
  std::vector<std::string> errors(live.size());
  const auto prepare_start = Steady::now();
#pragma omp parallel for schedule(dynamic, 1) num_threads(engine.num_cores())
  for (size_t i = 0; i < live.size(); ++i) {
    try {
      errors[i] = live[i]->prepare(input.data_as<float>() + i * item_floats);
    } catch (const std::exception& e) {
      errors[i] = e.what();
    }
  }
  const double prepare_ms = ms_between(prepare_start, Steady::now());
  std::vector<size_t> slots;  // items that made it into the batch, by slot
  for (size_t i = 0; i < live.size(); ++i) {
    if (errors[i].empty()) {
      slots.push_back(i);
    } else {
      live[i]->failed(ItemFailure::kInvalidInput, errors[i]);
    }
  }
  if (slots.empty()) return;
  // Unused slots of a short batch keep whatever they held: their outputs are never read.
  const auto start = Steady::now();
  try {
    engine.run(inputs_[index], outputs_[index]);
  } catch (const std::exception& e) {
    for (size_t i : slots) live[i]->failed(ItemFailure::kEngineError, e.what());
    return;
  }
  const double inference_ms = ms_between(start, Steady::now());
  metrics_->batch(model_, static_cast<int>(slots.size()), inference_ms / 1000);
  const Tensor& output = outputs_[index][0];
  const size_t out_floats = static_cast<size_t>(output.size() / engine.batch_size());
  // Post-processing (NMS, answers) runs in parallel like pre-processing: done alone, item after
  // item, it kept one core busy and the other spinning between batches.
#pragma omp parallel for schedule(dynamic, 1) num_threads(engine.num_cores())
  for (size_t k = 0; k < slots.size(); ++k) {
    const size_t i = slots[k];
    ItemResult r{output.data_as<float>() + i * out_floats, ms_between(live[i]->enqueued, prepare_start), prepare_ms,
                 inference_ms, static_cast<int>(slots.size())};
    metrics_->item(model_, r.queue_ms / 1000, ms_between(live[i]->enqueued, Steady::now()) / 1000);
    live[i]->done(r);
  }
}

}  // namespace sparrow::server
