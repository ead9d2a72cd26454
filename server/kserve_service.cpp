#include "kserve_service.h"

#include <algorithm>

#include <chrono>
#include <functional>

#include "client_text.h"
#include "detect_job.h"
#include "kserve_detections.h"
#include "kserve_model.h"
#include "kserve_request.h"
#include "kserve_tensor_job.h"
#include "status.h"

#ifndef SPARROW_VERSION
#define SPARROW_VERSION "unknown"
#endif

namespace sparrow::server {
namespace {

using Steady = std::chrono::steady_clock;
using Answer = std::function<void(const grpc::Status&, inference::ModelInferResponse&&)>;

double seconds_since(Steady::time_point t) { return std::chrono::duration<double>(Steady::now() - t).count(); }

// Finishes a unary call and records it. `model` is "" unless it names a served model: names
// clients made up must not become metric labels.
void finish(ModelRegistry& registry, grpc::ServerUnaryReactor* reactor, const Model* model, const std::string& method,
            Steady::time_point start, const grpc::Status& status) {
  registry.metrics().request(model ? model->name() : "", method, status_name(status.error_code()), seconds_since(start));
  reactor->Finish(status);
}

// The served model a request names, or the status to answer with.
grpc::Status find_model(ModelRegistry& registry, const std::string& name, const std::string& version, Model** model) {
  if (!registry.ready()) return {grpc::StatusCode::UNAVAILABLE, "models are still loading"};
  Model* found = registry.find(name);
  if (!found) return {grpc::StatusCode::NOT_FOUND, "no model named " + quoted(name)};
  if (!is_served_version(version)) {
    return {grpc::StatusCode::NOT_FOUND, "model " + quoted(name) + " has no version " + quoted(version) + "; it serves version " +
                                             kKServeVersion};
  }
  *model = found;
  return grpc::Status::OK;
}

// Ready for inference: loaded, and not shutting down (so that load balancers stop sending).
bool serving(ModelRegistry& registry) { return registry.ready() && registry.calls().accepting(); }

grpc::Status check_deadline(const grpc::CallbackServerContext* context) {
  if (context->deadline() > std::chrono::system_clock::now()) return grpc::Status::OK;
  return {grpc::StatusCode::DEADLINE_EXCEEDED, "the deadline had passed when the request arrived"};
}

// gRPC would only fail the response after every item had been inferred.
grpc::Status check_response_size(const ModelRegistry& registry, const Model& model, const InferPlan& plan) {
  const TensorLayout t = tensor_layout(model);
  if (plan.encoded || std::find(plan.outputs.begin(), plan.outputs.end(), t.output_name) == plan.outputs.end()) {
    return grpc::Status::OK;  // detections only: a few bytes per box
  }
  const auto limit = static_cast<size_t>(registry.config().max_receive_message_bytes);
  const size_t bytes = plan.items * t.output_elements() * sizeof(float);
  if (bytes <= limit) return grpc::Status::OK;
  return {grpc::StatusCode::RESOURCE_EXHAUSTED, "the response to " + std::to_string(plan.items) + " items would be " +
                                                    std::to_string(bytes) + " bytes, over the server's limit of " +
                                                    std::to_string(limit) + " (--max-message-bytes); send fewer items"};
}

// The image tensor, split into items for the model's batcher.
grpc::Status start_tensor(grpc::CallbackServerContext* context, Model* model,
                          const InferPlan& plan, Answer answer) {
  TensorJob job{model, plan.tensor, plan.items, plan.outputs, plan.nms, plan.raw_output, context->deadline(),
                [context] { return context->IsCancelled(); }, std::move(answer)};
  return start_tensor_job(std::move(job));
}

// Encoded images through the detection pipeline; the images stay in the request, which
// outlives the job.
grpc::Status start_encoded(grpc::CallbackServerContext* context, Model* model, InferPlan plan, Answer answer) {
  DetectJob job;
  job.model = model;
  job.images.assign(plan.images.begin(), plan.images.end());
  job.nms = plan.nms;
  job.deadline = context->deadline();
  job.cancelled = [context] { return context->IsCancelled(); };
  // owned_images (images copied out of shared memory) must outlive the job, as the request does.
  job.complete = [answer, outputs = plan.outputs, raw = plan.raw_output, owned = plan.owned_images](
                     const grpc::Status& status, v1::DetectResponse&& detections) {
    inference::ModelInferResponse result;
    if (status.ok()) add_detection_outputs(detections, outputs, raw, &result);
    answer(status, std::move(result));
  };
  return start_detect(std::move(job));
}

}  // namespace

grpc::ServerUnaryReactor* KServeService::ServerLive(grpc::CallbackServerContext* context,
                                                    const inference::ServerLiveRequest*,
                                                    inference::ServerLiveResponse* response) {
  const auto start = Steady::now();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // Answering at all is being live; readiness is ServerReady's question.
  response->set_live(true);
  finish(registry_, reactor, nullptr, "ServerLive", start, grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* KServeService::ServerReady(grpc::CallbackServerContext* context,
                                                     const inference::ServerReadyRequest*,
                                                     inference::ServerReadyResponse* response) {
  const auto start = Steady::now();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  response->set_ready(serving(registry_));
  finish(registry_, reactor, nullptr, "ServerReady", start, grpc::Status::OK);
  return reactor;
}

// As Triton: UNAVAILABLE while the server is not ready (loading or shutting down), then
// ready=false, not an error, for a model or version it does not serve.
grpc::ServerUnaryReactor* KServeService::ModelReady(grpc::CallbackServerContext* context,
                                                    const inference::ModelReadyRequest* request,
                                                    inference::ModelReadyResponse* response) {
  const auto start = Steady::now();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Model* model = nullptr;
  grpc::Status s = shutting_down();
  if (registry_.calls().accepting()) s = find_model(registry_, request->name(), request->version(), &model);
  if (s.error_code() == grpc::StatusCode::NOT_FOUND) s = grpc::Status::OK;
  response->set_ready(model && model->ready());
  finish(registry_, reactor, model, "ModelReady", start, s);
  return reactor;
}

grpc::ServerUnaryReactor* KServeService::ServerMetadata(grpc::CallbackServerContext* context,
                                                        const inference::ServerMetadataRequest*,
                                                        inference::ServerMetadataResponse* response) {
  const auto start = Steady::now();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  response->set_name("sparrow");
  response->set_version(SPARROW_VERSION);
  // Of the optional protocol extensions (model repository, statistics, ...) only system shared
  // memory is implemented, and only when the operator allowed it.
  if (registry_.config().allow_shared_memory) response->add_extensions("system_shared_memory");
  finish(registry_, reactor, nullptr, "ServerMetadata", start, grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* KServeService::ModelMetadata(grpc::CallbackServerContext* context,
                                                       const inference::ModelMetadataRequest* request,
                                                       inference::ModelMetadataResponse* response) {
  const auto start = Steady::now();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Model* model = nullptr;
  grpc::Status s = find_model(registry_, request->name(), request->version(), &model);
  if (s.ok()) fill_model_metadata(*model, response);
  finish(registry_, reactor, model, "ModelMetadata", start, s);
  return reactor;
}

grpc::ServerUnaryReactor* KServeService::ModelInfer(grpc::CallbackServerContext* context,
                                                    const inference::ModelInferRequest* request,
                                                    inference::ModelInferResponse* response) {
  const auto start = Steady::now();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Model* model = nullptr;
  InferPlan plan;
  // Held until the call is answered, so that shutdown waits for it.
  std::shared_ptr<void> call = registry_.calls().enter();
  grpc::Status s = call ? check_deadline(context) : shutting_down();
  if (s.ok()) s = find_model(registry_, request->model_name(), request->model_version(), &model);
  if (s.ok()) s = plan_infer(*request, *model, regions_, &plan);
  if (s.ok()) s = check_response_size(registry_, *model, plan);
  if (s.ok()) {
    Answer answer = [this, reactor, request, response, model, start, call](const grpc::Status& status,
                                                                           inference::ModelInferResponse&& result) {
      if (status.ok()) {
        response->Swap(&result);
        response->set_model_name(model->name());
        response->set_model_version(kKServeVersion);
        response->set_id(request->id());
      }
      finish(registry_, reactor, model, "ModelInfer", start, status);
    };
    s = plan.encoded ? start_encoded(context, model, std::move(plan), std::move(answer))
                     : start_tensor(context, model, plan, std::move(answer));
    if (s.ok()) return reactor;
  }
  finish(registry_, reactor, model, "ModelInfer", start, s);
  return reactor;
}

grpc::ServerUnaryReactor* KServeService::SystemSharedMemoryStatus(
    grpc::CallbackServerContext* context, const inference::SystemSharedMemoryStatusRequest* request,
    inference::SystemSharedMemoryStatusResponse* response) {
  const auto start = Steady::now();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  finish(registry_, reactor, nullptr, "SystemSharedMemoryStatus", start, regions_.status(request->name(), response));
  return reactor;
}

grpc::ServerUnaryReactor* KServeService::SystemSharedMemoryRegister(
    grpc::CallbackServerContext* context, const inference::SystemSharedMemoryRegisterRequest* request,
    inference::SystemSharedMemoryRegisterResponse*) {
  const auto start = Steady::now();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  finish(registry_, reactor, nullptr, "SystemSharedMemoryRegister", start, regions_.add(*request));
  return reactor;
}

grpc::ServerUnaryReactor* KServeService::SystemSharedMemoryUnregister(
    grpc::CallbackServerContext* context, const inference::SystemSharedMemoryUnregisterRequest* request,
    inference::SystemSharedMemoryUnregisterResponse*) {
  const auto start = Steady::now();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  regions_.remove(request->name());
  finish(registry_, reactor, nullptr, "SystemSharedMemoryUnregister", start, grpc::Status::OK);
  return reactor;
}

}  // namespace sparrow::server
