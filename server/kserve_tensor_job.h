// One KServe request's image tensor through a model: split into batch items on the pre-process
// pool, each queued on the model's batcher (which batches them with other requests' items), and
// the items' raw outputs gathered back into one output tensor.
#pragma once

#include <chrono>
#include <functional>

#include <grpcpp/support/status.h>

#include "kserve/grpc_predict_v2.pb.h"
#include "kserve_request.h"
#include "model_registry.h"

namespace sparrow::server {

struct TensorJob {
  Model* model = nullptr;
  TensorInput input;  // views into the request: it must outlive the job (until complete)
  size_t items = 0;
  bool raw_output = true;
  std::chrono::system_clock::time_point deadline = std::chrono::system_clock::time_point::max();
  std::function<bool()> cancelled;
  // Called exactly once, on a worker or batcher thread, with the response's outputs filled in.
  std::function<void(const grpc::Status&, inference::ModelInferResponse&&)> complete;
};

// Returns at once. RESOURCE_EXHAUSTED when the model's queue has no room for the items, without
// queueing anything; every other outcome arrives through job.complete.
grpc::Status start_tensor_job(ModelRegistry& registry, TensorJob job);

}  // namespace sparrow::server
