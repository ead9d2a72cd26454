#include "kserve_tensor_job.h"

#include <atomic>
#include <cstring>

#include "detect_job.h"
#include "kserve_tensors.h"

namespace sparrow::server {
namespace {

// Shared by the job's items. Items complete on the batcher thread only, so `output` is written
// there (sized on the worker before any item is queued).
struct TensorJobState {
  TensorJob job;
  TensorLayout layout;
  std::string output;  // items x anchors x row floats, the raw_output_contents layout
  std::atomic<size_t> remaining{0};
  std::atomic<bool> finished{false};

  void finish(const grpc::Status& status) {
    if (finished.exchange(true)) return;
    inference::ModelInferResponse response;
    if (status.ok()) {
      const std::vector<int64_t> shape = {static_cast<int64_t>(job.items), layout.anchors, layout.row};
      add_output(&response, layout.output_name, "FP32", shape, std::move(output), job.raw_output);
    }
    job.complete(status, std::move(response));
  }
};

// Converts every item first, so that a bad value fails the request before anything is queued.
void prepare_and_queue(const std::shared_ptr<TensorJobState>& state) {
  Model& model = *state->job.model;
  const size_t n = state->job.items;
  std::vector<BatchItem> items(n);
  for (size_t i = 0; i < n; ++i) {
    grpc::Status s = read_tensor_item(state->job.input, state->layout, i, &items[i]);
    if (!s.ok()) {
      model.batcher().release(n);
      state->finish(s);
      return;
    }
  }
  const size_t item_bytes = state->layout.output_elements() * sizeof(float);
  state->output.resize(n * item_bytes);
  state->remaining = n;
  for (size_t i = 0; i < n; ++i) {
    BatchItem& b = items[i];
    b.deadline = state->job.deadline;
    // A finished job's call may be gone: its remaining items are dropped without asking it.
    b.cancelled = [state] { return state->finished || (state->job.cancelled && state->job.cancelled()); };
    b.done = [state, i, item_bytes](const ItemResult& r) {
      if (state->finished) return;
      std::memcpy(state->output.data() + i * item_bytes, r.output, item_bytes);
      if (--state->remaining == 0) state->finish(grpc::Status::OK);
    };
    b.failed = [state](ItemFailure failure, const std::string& message) { state->finish(item_status(failure, message)); };
    model.batcher().submit(std::move(b));
  }
}

}  // namespace

grpc::Status start_tensor_job(ModelRegistry& registry, TensorJob job) {
  if (grpc::Status s = reserve_images(*job.model, job.items); !s.ok()) return s;
  auto state = std::make_shared<TensorJobState>();
  state->layout = tensor_layout(*job.model);
  state->job = std::move(job);
  registry.preprocess_pool().submit([state] { prepare_and_queue(state); });
  return grpc::Status::OK;
}

}  // namespace sparrow::server
