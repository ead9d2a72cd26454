#include "dynamic_batcher.h"

#include <algorithm>
#include <cstring>

#include "inference_threads.h"
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
                               BatcherOptions options, Metrics* metrics, InferenceThreads& threads)
    : model_(std::move(model)), engines_(std::move(engines)), options_(options), metrics_(metrics), threads_(threads) {
  if (engines_.empty()) throw Error(ErrorCode::kInternal, "a batcher needs at least one engine");
  // Every lane's tensors now (zeroed, so resident): memory does not grow once serving.
  inputs_.resize(threads_.lanes());
  outputs_.resize(threads_.lanes());
  for (int lane = 0; lane < threads_.lanes(); ++lane) {
    for (const auto& engine : engines_) {
      inputs_[lane].push_back({Tensor(engine->inputs()[0].dtype, engine->inputs()[0].shape)});
      std::vector<Tensor> outputs;
      for (const TensorSpec& spec : engine->outputs()) outputs.emplace_back(spec.dtype, spec.shape);
      outputs_[lane].push_back(std::move(outputs));
    }
  }
  threads_.attach(this);
}

DynamicBatcher::~DynamicBatcher() { threads_.detach(this); }

DynamicBatcher::Reservation DynamicBatcher::reserve(size_t n) {
  std::lock_guard<std::mutex> lock(threads_.mutex());
  if (draining_) return Reservation::kDraining;
  if (reserved_ + n > options_.capacity) return Reservation::kQueueFull;
  reserved_ += n;
  metrics_->queue_depth(model_, queue_.size());
  return Reservation::kReserved;
}

void DynamicBatcher::release(size_t n) {
  std::lock_guard<std::mutex> lock(threads_.mutex());
  reserved_ -= std::min(n, reserved_);
  drained_.notify_all();  // a drain may be waiting for the last reservation
}

void DynamicBatcher::submit(BatchItem item) {
  item.enqueued = Steady::now();
  {
    std::lock_guard<std::mutex> lock(threads_.mutex());
    queue_.push_back(std::move(item));
    metrics_->queue_depth(model_, queue_.size());
  }
  threads_.wake();
}

// Items that hold a reservation but are not queued yet (being pre-processed) are waited for too.
void DynamicBatcher::drain() {
  {
    std::lock_guard<std::mutex> lock(threads_.mutex());
    draining_ = true;
  }
  threads_.wake();
  std::unique_lock<std::mutex> lock(threads_.mutex());
  drained_.wait(lock, [this] { return reserved_ == 0 && running_ == 0; });
}

size_t DynamicBatcher::depth() const {
  std::lock_guard<std::mutex> lock(threads_.mutex());
  return queue_.size();
}

int64_t DynamicBatcher::items_inferred() const {
  std::lock_guard<std::mutex> lock(threads_.mutex());
  return inferred_;
}

size_t DynamicBatcher::engine_index(size_t items) const {
  for (size_t i = 0; i < engines_.size(); ++i) {
    if (static_cast<size_t>(engines_[i]->batch_size()) >= items) return i;
  }
  return engines_.size() - 1;
}

bool DynamicBatcher::due(Steady::time_point* at) const {
  if (queue_.empty()) return false;
  const bool now = draining_ || queue_.size() >= static_cast<size_t>(max_batch_size());
  *at = queue_.front().enqueued + (now ? Steady::duration::zero() : Steady::duration(options_.max_queue_delay));
  return true;
}

std::vector<BatchItem> DynamicBatcher::take_batch() {
  const size_t max_items = static_cast<size_t>(max_batch_size());
  std::vector<BatchItem> batch;
  while (!queue_.empty() && batch.size() < max_items) {
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  reserved_ -= std::min(batch.size(), reserved_);
  running_ += batch.size();
  metrics_->queue_depth(model_, queue_.size());
  return batch;
}

void DynamicBatcher::ran(size_t items) {
  running_ -= items;
  inferred_ += static_cast<int64_t>(items);
  drained_.notify_all();
}

void DynamicBatcher::run(std::vector<BatchItem>& batch, int lane, const std::function<void()>& inferred) {
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

  // Lane 0 runs on the engine's team; the others run a batch on one thread each.
  const Threads threads = lane == 0 ? Threads::kAdaptive : Threads::kOne;
  const size_t index = engine_index(live.size());
  const Engine& engine = *engines_[index];
  std::vector<Tensor>& inputs = inputs_[lane][index];
  Tensor& input = inputs[0];
  const size_t item_floats = static_cast<size_t>(input.size() / engine.batch_size());
  std::vector<std::string> errors(live.size());
  const auto prepare_start = Steady::now();
  engine.parallel_for(
      live.size(),
      [&](size_t i) {
        try {
          errors[i] = live[i]->prepare(input.data_as<float>() + i * item_floats);
        } catch (const std::exception& e) {
          errors[i] = e.what();
        }
      },
      threads);
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
  const int64_t single_before = engine.single_thread_runs();
  try {
    engine.run(inputs, outputs_[lane][index], threads);
  } catch (const std::exception& e) {
    inferred();
    for (size_t i : slots) live[i]->failed(ItemFailure::kEngineError, e.what());
    return;
  }
  inferred();
  const double inference_ms = ms_between(start, Steady::now());
  metrics_->batch(model_, static_cast<int>(slots.size()), inference_ms / 1000,
                  lane == 0 && engine.single_thread_runs() > single_before);
  const Tensor& output = outputs_[lane][index][0];
  const size_t out_floats = static_cast<size_t>(output.size() / engine.batch_size());
  // Post-processing (NMS, answers) runs in parallel like pre-processing: done alone, item after
  // item, it kept one core busy and the other spinning between batches.
  engine.parallel_for(
      slots.size(),
      [&](size_t k) {
        const size_t i = slots[k];
        ItemResult r{output.data_as<float>() + i * out_floats, ms_between(live[i]->enqueued, prepare_start),
                     prepare_ms, inference_ms, static_cast<int>(slots.size())};
        metrics_->item(model_, r.queue_ms / 1000, ms_between(live[i]->enqueued, Steady::now()) / 1000);
        live[i]->done(r);
      },
      threads);
}

}  // namespace sparrow::server
