// One KServe request's image tensor through a model: one batch item per image, each copied (or
// scaled from bytes) straight into its batch slot by the batcher; the items' raw outputs are
// gathered into one output tensor and/or reduced to detections (in the tensor's pixels).
#pragma once

#include <chrono>
#include <functional>

#include <grpcpp/support/status.h>

#include "kserve/grpc_predict_v2.pb.h"
#include "kserve_request.h"
#include "model.h"

namespace sparrow::server {

struct TensorJob {
  Model* model = nullptr;
  TensorInput input;  // views into the request: it must outlive the job (it does: the call ends at complete)
  size_t items = 0;
  std::vector<std::string> outputs;  // the raw output and/or the detections, in answer order
  yolo::NmsOptions nms;              // for the detections
  bool raw_output = true;
  std::chrono::system_clock::time_point deadline = std::chrono::system_clock::time_point::max();
  std::function<bool()> cancelled;
  // Called exactly once, on the inference thread or one of the engine's threads, after every item has been
  // dealt with.
  std::function<void(const grpc::Status&, inference::ModelInferResponse&&)> complete;
};

// Returns at once with reserve_items' refusal, without queueing anything; every other outcome
// arrives through job.complete.
grpc::Status start_tensor_job(TensorJob job);

}  // namespace sparrow::server
