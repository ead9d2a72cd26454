// The KServe v2 / Open Inference Protocol (inference.GRPCInferenceService) on gRPC's callback
// API, for Triton and KServe clients. Tensor conventions are in kserve_model.h; as in
// DetectionService, handlers only validate: payloads are read on the pre-process pool and
// inferred by the model's batcher, which batches them with every other request's items.
#pragma once

#include "kserve/grpc_predict_v2.grpc.pb.h"
#include "model_registry.h"
#include "shared_memory_regions.h"

namespace sparrow::server {

class KServeService final : public inference::GRPCInferenceService::CallbackService {
 public:
  explicit KServeService(ModelRegistry& registry)
      : registry_(registry), regions_(registry.config().allow_shared_memory) {}

  grpc::ServerUnaryReactor* ServerLive(grpc::CallbackServerContext* context, const inference::ServerLiveRequest* request,
                                       inference::ServerLiveResponse* response) override;
  grpc::ServerUnaryReactor* ServerReady(grpc::CallbackServerContext* context,
                                        const inference::ServerReadyRequest* request,
                                        inference::ServerReadyResponse* response) override;
  grpc::ServerUnaryReactor* ModelReady(grpc::CallbackServerContext* context, const inference::ModelReadyRequest* request,
                                       inference::ModelReadyResponse* response) override;
  grpc::ServerUnaryReactor* ServerMetadata(grpc::CallbackServerContext* context,
                                           const inference::ServerMetadataRequest* request,
                                           inference::ServerMetadataResponse* response) override;
  grpc::ServerUnaryReactor* ModelMetadata(grpc::CallbackServerContext* context,
                                          const inference::ModelMetadataRequest* request,
                                          inference::ModelMetadataResponse* response) override;
  grpc::ServerUnaryReactor* ModelInfer(grpc::CallbackServerContext* context, const inference::ModelInferRequest* request,
                                       inference::ModelInferResponse* response) override;
  grpc::ServerUnaryReactor* SystemSharedMemoryStatus(grpc::CallbackServerContext* context,
                                                     const inference::SystemSharedMemoryStatusRequest* request,
                                                     inference::SystemSharedMemoryStatusResponse* response) override;
  grpc::ServerUnaryReactor* SystemSharedMemoryRegister(grpc::CallbackServerContext* context,
                                                       const inference::SystemSharedMemoryRegisterRequest* request,
                                                       inference::SystemSharedMemoryRegisterResponse* response) override;
  grpc::ServerUnaryReactor* SystemSharedMemoryUnregister(
      grpc::CallbackServerContext* context, const inference::SystemSharedMemoryUnregisterRequest* request,
      inference::SystemSharedMemoryUnregisterResponse* response) override;

 private:
  ModelRegistry& registry_;
  SharedMemoryRegions regions_;
};

}  // namespace sparrow::server
