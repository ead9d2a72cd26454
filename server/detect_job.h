// One DetectRequest through a model: images decoded and letterboxed on the pre-process pool,
// inferred through the model's batcher, post-processed with the request's thresholds.
#pragma once

#include <chrono>
#include <functional>

#include <grpcpp/support/status.h>

#include "model.h"
#include "model_registry.h"
#include "sparrow/v1/detection.pb.h"

namespace sparrow::server {

// The status of a call whose item the batcher did not infer.
grpc::Status item_status(ItemFailure failure, const std::string& message);

// The request's options over the model's defaults; INVALID_ARGUMENT for values out of range.
grpc::Status nms_options(const v1::DetectOptions& requested, const yolo::NmsOptions& defaults, yolo::NmsOptions* out);

struct DetectJob {
  Model* model = nullptr;
  v1::DetectRequest request;
  yolo::NmsOptions nms;
  std::chrono::system_clock::time_point deadline = std::chrono::system_clock::time_point::max();
  std::function<bool()> cancelled;
  // Called exactly once, on a worker or batcher thread.
  std::function<void(const grpc::Status&, v1::DetectResponse&&)> complete;
};

// Returns at once. RESOURCE_EXHAUSTED when the model's queue has no room for the images, without
// queueing anything; every other outcome arrives through job.complete.
grpc::Status start_detect(ModelRegistry& registry, DetectJob job);

// The two halves of start_detect, for callers that must refuse a full queue at once but build
// the job's request (copying large payloads) on the pre-process pool themselves.
// RESOURCE_EXHAUSTED when the model's queue has no room for n images.
grpc::Status reserve_images(Model& model, size_t n);
// Decodes, letterboxes and queues on the calling thread a job whose images were reserved.
void detect_reserved(DetectJob job);

}  // namespace sparrow::server
