// sparrow.v1.Detection on gRPC's callback API. Handlers only validate and hand work on: images
// are decoded on the pre-process pool, inferred by the model's batcher, and answered from there.
#pragma once

#include "model_registry.h"
#include "sparrow/v1/detection.grpc.pb.h"

namespace sparrow::server {

class DetectionService final : public v1::Detection::CallbackService {
 public:
  explicit DetectionService(ModelRegistry& registry) : registry_(registry) {}

  grpc::ServerUnaryReactor* Detect(grpc::CallbackServerContext* context, const v1::DetectRequest* request,
                                   v1::DetectResponse* response) override;
  grpc::ServerBidiReactor<v1::DetectRequest, v1::DetectResponse>* DetectStream(
      grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* Benchmark(grpc::CallbackServerContext* context, const v1::BenchmarkRequest* request,
                                      v1::BenchmarkResponse* response) override;
  grpc::ServerUnaryReactor* ListModels(grpc::CallbackServerContext* context, const v1::ListModelsRequest* request,
                                       v1::ListModelsResponse* response) override;
  grpc::ServerUnaryReactor* GetModel(grpc::CallbackServerContext* context, const v1::GetModelRequest* request,
                                     v1::ModelInfo* response) override;

 private:
  ModelRegistry& registry_;
};

}  // namespace sparrow::server
