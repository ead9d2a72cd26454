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

}  // namespace sparrow::server
