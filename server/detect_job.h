// One detection request through a model: each image becomes a batch item that the batcher
// decodes and letterboxes into its batch slot, infers, and hands back for post-processing with
// the request's thresholds.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include <grpcpp/support/status.h>

#include "model.h"
#include "sparrow/v1/detection.pb.h"

namespace sparrow::server {

// The status of a call whose item the batcher did not infer.
grpc::Status item_status(ItemFailure failure, const std::string& message);

// The request's options over the model's defaults; INVALID_ARGUMENT for values out of range.
grpc::Status nms_options(const v1::DetectOptions& requested, const yolo::NmsOptions& defaults, yolo::NmsOptions* out);

// Appends the detections to `out`; with `names`, each gets its class name too.
void add_detected_objects(const std::vector<yolo::Detection>& detections, const std::vector<std::string>* names,
                          v1::ImageResult& out);

struct DetectJob {
  Model* model = nullptr;
  // Encoded images; the bytes must stay valid until `complete` runs (keep_alive may own them).
  std::vector<std::string_view> images;
  std::shared_ptr<const void> keep_alive;
  std::string request_id;
  yolo::NmsOptions nms;
  std::chrono::system_clock::time_point deadline = std::chrono::system_clock::time_point::max();
  std::function<bool()> cancelled;
  // Called exactly once, on the inference thread or one of the engine's threads, after every image has been
  // dealt with.
  std::function<void(const grpc::Status&, v1::DetectResponse&&)> complete;
};

// Returns at once with reserve_items' refusal, without queueing anything; every other outcome
// arrives through job.complete.
grpc::Status start_detect(DetectJob job);

// Claims queue room for n items, for every service: INVALID_ARGUMENT when n exceeds the queue's
// capacity (the request can never fit), RESOURCE_EXHAUSTED when the queue has no room now.
grpc::Status reserve_items(Model& model, size_t n);

}  // namespace sparrow::server
