#include "kserve_tensor_job.h"

#include <atomic>
#include <cstring>
#include <mutex>

#include "detect_job.h"
#include "kserve_detections.h"
#include "kserve_tensors.h"

namespace sparrow::server {
namespace {

// Shared by the job's items; each writes only its own slice of `output`. The job completes when
// the last item is done or failed, so the request the items read stays valid for all of them.
struct TensorJobState {
  TensorJob job;
  TensorLayout layout;
  bool want_raw = false, want_detections = false;
  std::string output;                // items x anchors x row floats, when the raw output is wanted
  v1::DetectResponse detections;     // one result per item, when detections are wanted
  std::atomic<size_t> remaining{0};
  std::mutex error_mutex;
  grpc::Status error = grpc::Status::OK;

  void item_finished() {
    if (--remaining > 0) return;
    inference::ModelInferResponse response;
    for (const std::string& name : job.outputs) {
      if (!error.ok()) break;
      if (name == layout.output_name) {
        const std::vector<int64_t> shape = {static_cast<int64_t>(job.items), layout.anchors, layout.row};
        add_output(&response, name, "FP32", shape, std::move(output), job.raw_output);
      } else {
        add_detection_outputs(detections, {name}, job.raw_output, &response);
      }
    }
    job.complete(error, std::move(response));
  }
  void item_failed(const grpc::Status& status) {
    {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (error.ok()) error = status;
    }
    item_finished();
  }
};

// NMS on one item's rows; boxes stay in the input tensor's pixels (it was letterboxed already).
void add_tensor_detections(TensorJobState& state, size_t i, const float* rows) {
  const std::vector<yolo::Detection> found = yolo::non_max_suppression(rows, state.layout.anchors, state.layout.row, state.job.nms);
  v1::ImageResult* result = state.detections.mutable_results(static_cast<int>(i));
  result->set_width(static_cast<int32_t>(state.layout.width));
  result->set_height(static_cast<int32_t>(state.layout.height));
  add_detected_objects(found, nullptr, *result);  // the N x K x 6 tensor carries class ids only
}

}  // namespace

grpc::Status start_tensor_job(TensorJob job) {
  if (grpc::Status s = reserve_items(*job.model, job.items); !s.ok()) return s;
  auto state = std::make_shared<TensorJobState>();
  state->layout = tensor_layout(*job.model);
  state->job = std::move(job);
  const size_t n = state->job.items;
  const size_t item_bytes = state->layout.output_elements() * sizeof(float);
  for (const std::string& name : state->job.outputs) {
    (name == state->layout.output_name ? state->want_raw : state->want_detections) = true;
  }
  if (state->want_raw) state->output.resize(n * item_bytes);
  for (size_t i = 0; i < n && state->want_detections; ++i) state->detections.add_results();
  state->remaining = n;
  for (size_t i = 0; i < n; ++i) {
    BatchItem b;
    b.deadline = state->job.deadline;
    b.cancelled = state->job.cancelled;
    b.prepare = [state, i](float* dst) {
      const grpc::Status s = read_tensor_item(state->job.input, state->layout, i, dst);
      return s.ok() ? std::string() : s.error_message();
    };
    b.done = [state, i, item_bytes](const ItemResult& r) {
      if (state->want_raw) std::memcpy(state->output.data() + i * item_bytes, r.output, item_bytes);
      if (state->want_detections) add_tensor_detections(*state, i, r.output);
      state->item_finished();
    };
    b.failed = [state](ItemFailure failure, const std::string& message) {
      state->item_failed(item_status(failure, message));
    };
    state->job.model->batcher().submit(std::move(b));
  }
  return grpc::Status::OK;
}

}  // namespace sparrow::server
