// The load generator's KServe ModelInfer requests: raw UINT8 tensors of letterboxed images (a
// quarter of FP32's bytes), answered with the server's detections rather than the raw output
// (8.6 MB per 640x640 image), so the load measures serving, not copying. With shared memory the
// tensors are written once into one region and each request only names its slice.
#include <grpcpp/client_context.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include <opencv2/core.hpp>

#include "connection.h"
#include "kserve/grpc_predict_v2.grpc.pb.h"
#include "request_source.h"
#include "rpc_error.h"
#include "shared_memory_object.h"
#include "sparrow/error.h"
#include "sparrow/yolo/image_decoder.h"
#include "sparrow/yolo/letterbox.h"

namespace sparrow::client {
namespace {

using inference::ModelMetadataResponse;

// The model's FP32 image input: N x 3 x H x W, N free (-1) or fixed.
struct ImageInput {
  std::string model, name;
  int64_t channels = 0, height = 0, width = 0;
};

ImageInput image_input(inference::GRPCInferenceService::Stub& stub, const SourceOptions& options) {
  inference::ModelMetadataRequest request;
  request.set_name(options.model);
  grpc::ClientContext context;
  context.set_deadline(deadline_after(options.timeout_seconds));
  ModelMetadataResponse metadata;
  check(stub.ModelMetadata(&context, request, &metadata), "KServe metadata of model '" + options.model + "'");
  for (const ModelMetadataResponse::TensorMetadata& t : metadata.inputs()) {
    if (t.datatype() == "FP32" && t.shape_size() == 4 && t.shape(1) == 3 && t.shape(2) > 0 && t.shape(3) > 0) {
      return {metadata.name(), t.name(), t.shape(1), t.shape(2), t.shape(3)};
    }
  }
  throw Error(ErrorCode::kUnsupported,
              "model '" + metadata.name() + "' has no FP32 N x 3 x H x W input for --mode infer (KServe metadata)");
}

// The image's letterboxed tensor as 0..255 bytes (UINT8, which the server scales as its own
// letterbox does).
std::string letterboxed(const std::string& file, const ImageInput& input) {
  const cv::Mat image = yolo::decode_image_file(file);
  std::string bytes(static_cast<size_t>(input.channels * input.height * input.width), '\0');
  yolo::letterbox_bytes(image, static_cast<int>(input.height), static_cast<int>(input.width),
                        reinterpret_cast<uint8_t*>(bytes.data()));
  return bytes;
}

class InferSource final : public RequestSource {
 public:
  InferSource(std::shared_ptr<grpc::Channel> channel, const SourceOptions& options)
      : stub_(inference::GRPCInferenceService::NewStub(std::move(channel))), per_request_(options.images_per_request) {
    input_ = image_input(*stub_, options);
    std::vector<std::string> tensors;
    for (const std::string& file : options.image_files) tensors.push_back(letterboxed(file, input_));
    if (tensors.empty()) throw Error(ErrorCode::kInvalidArgument, "no images to send");
    requests_.resize(tensors.size());
    for (size_t i = 0; i < tensors.size(); ++i) build(requests_[i], tensors, i);
    if (options.shared_memory) move_to_shared_memory(options.timeout_seconds);
  }

  ~InferSource() override {
    if (!region_) return;
    inference::SystemSharedMemoryUnregisterRequest request;
    request.set_name(region_name_);
    grpc::ClientContext context;
    context.set_deadline(deadline_after(5));
    inference::SystemSharedMemoryUnregisterResponse response;
    stub_->SystemSharedMemoryUnregister(&context, request, &response);  // the server may be gone: best effort
  }

  void start(uint64_t index, double timeout_seconds, Done done) override {
    // The call's state lives until its callback, which frees it.
    struct Call {
      grpc::ClientContext context;
      inference::ModelInferResponse response;
    };
    auto* call = new Call;
    call->context.set_deadline(deadline_after(timeout_seconds));
    stub_->async()->ModelInfer(&call->context, &requests_[index % requests_.size()], &call->response,
                               [call, done = std::move(done)](grpc::Status status) {
                                 delete call;
                                 done(status, ServerTimings{});
                               });
  }

  grpc::Status probe(double timeout_seconds) override {
    grpc::ClientContext context;
    context.set_deadline(deadline_after(timeout_seconds));
    inference::ModelInferResponse response;
    return stub_->ModelInfer(&context, requests_.front(), &response);
  }

  int items_per_request() const override { return per_request_; }
  std::string model() const override { return input_.model; }

 private:
  void build(inference::ModelInferRequest& request, const std::vector<std::string>& tensors, size_t i) const {
    request.set_model_name(input_.model);
    inference::ModelInferRequest::InferInputTensor* in = request.add_inputs();
    in->set_name(input_.name);
    in->set_datatype("UINT8");
    for (int64_t d : {static_cast<int64_t>(per_request_), input_.channels, input_.height, input_.width}) in->add_shape(d);
    for (const char* output : {"detections", "detection_counts"}) request.add_outputs()->set_name(output);
    std::string* raw = request.add_raw_input_contents();
    for (size_t image : images_of_request(i, static_cast<size_t>(per_request_), tensors.size())) *raw += tensors[image];
  }

  // Copies every request's tensor into one new region, registers it and has each request name
  // its slice instead of carrying it.
  void move_to_shared_memory(double timeout_seconds) {
    static std::atomic<int> regions{0};
    size_t total = 0;
    for (const auto& r : requests_) total += r.raw_input_contents(0).size();
    region_name_ = "sparrow-client-" + std::to_string(getpid()) + "-" + std::to_string(regions++);
    region_ = std::make_unique<SharedMemoryObject>("/" + region_name_, total);
    inference::SystemSharedMemoryRegisterRequest registration;
    registration.set_name(region_name_);
    registration.set_key(region_->key());
    registration.set_byte_size(total);
    grpc::ClientContext context;
    context.set_deadline(deadline_after(timeout_seconds));
    inference::SystemSharedMemoryRegisterResponse registered;
    const grpc::Status status = stub_->SystemSharedMemoryRegister(&context, registration, &registered);
    region_->unlink();  // the server has it mapped (or failed): nothing to leave behind
    if (!status.ok()) region_.reset();
    check(status, "registering shared memory region '" + region_name_ + "' with the server (it must run on this "
                  "host with --allow-shared-memory)");
    size_t offset = 0;
    for (auto& r : requests_) {
      std::string bytes = std::move(*r.mutable_raw_input_contents(0));
      r.clear_raw_input_contents();
      std::memcpy(region_->data() + offset, bytes.data(), bytes.size());
      auto& parameters = *r.mutable_inputs(0)->mutable_parameters();
      parameters["shared_memory_region"].set_string_param(region_name_);
      parameters["shared_memory_offset"].set_int64_param(static_cast<int64_t>(offset));
      parameters["shared_memory_byte_size"].set_int64_param(static_cast<int64_t>(bytes.size()));
      offset += bytes.size();
    }
  }

  std::unique_ptr<inference::GRPCInferenceService::Stub> stub_;
  int per_request_;
  ImageInput input_;
  std::vector<inference::ModelInferRequest> requests_;
  std::unique_ptr<SharedMemoryObject> region_;  // with --shared-memory
  std::string region_name_;
};

}  // namespace

std::unique_ptr<RequestSource> make_infer_source(std::shared_ptr<grpc::Channel> channel, const SourceOptions& options) {
  return std::make_unique<InferSource>(std::move(channel), options);
}

}  // namespace sparrow::client
