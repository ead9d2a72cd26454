// The load generator's Detect requests.
#include <grpcpp/client_context.h>

#include "connection.h"
#include "image_files.h"
#include "request_source.h"
#include "sparrow/error.h"
#include "sparrow/v1/detection.grpc.pb.h"

namespace sparrow::client {
namespace {

ServerTimings server_timings(const v1::DetectResponse& response) {
  ServerTimings t;
  for (const v1::ImageResult& r : response.results()) {
    ++t.images;
    t.preprocess_ms += r.timings().preprocess_ms();
    t.queue_ms += r.timings().queue_ms();
    t.inference_ms += r.timings().inference_ms();
    t.postprocess_ms += r.timings().postprocess_ms();
  }
  return t;
}

class DetectSource final : public RequestSource {
 public:
  DetectSource(std::shared_ptr<grpc::Channel> channel, const SourceOptions& options)
      : stub_(v1::Detection::NewStub(std::move(channel))), per_request_(options.images_per_request) {
    std::vector<std::string> images;
    for (const std::string& file : options.image_files) images.push_back(read_file_bytes(file));
    if (images.empty()) throw Error(ErrorCode::kInvalidArgument, "no images to send");
    requests_.resize(images.size());
    for (size_t i = 0; i < images.size(); ++i) {
      requests_[i].set_model(options.model);
      for (size_t image : images_of_request(i, static_cast<size_t>(per_request_), images.size())) {
        requests_[i].add_images(images[image]);
      }
    }
  }

  void start(uint64_t index, double timeout_seconds, Done done) override {
    // The call's state lives until its callback, which frees it.
    struct Call {
      grpc::ClientContext context;
      v1::DetectResponse response;
    };
    auto* call = new Call;
    call->context.set_deadline(deadline_after(timeout_seconds));
    stub_->async()->Detect(&call->context, &requests_[index % requests_.size()], &call->response,
                           [call, done = std::move(done)](grpc::Status status) {
                             const ServerTimings timings = server_timings(call->response);
                             delete call;
                             done(status, timings);
                           });
  }

  grpc::Status probe(double timeout_seconds) override {
    grpc::ClientContext context;
    context.set_deadline(deadline_after(timeout_seconds));
    v1::DetectResponse response;
    grpc::Status status = stub_->Detect(&context, requests_.front(), &response);
    model_ = response.model();
    return status;
  }

  int items_per_request() const override { return per_request_; }
  std::string model() const override { return model_; }

 private:
  std::unique_ptr<v1::Detection::Stub> stub_;
  int per_request_;
  std::vector<v1::DetectRequest> requests_;
  std::string model_;
};

}  // namespace

std::vector<size_t> images_of_request(size_t request, size_t images_per_request, size_t image_count) {
  std::vector<size_t> out;
  for (size_t j = 0; j < images_per_request; ++j) out.push_back((request * images_per_request + j) % image_count);
  return out;
}

std::unique_ptr<RequestSource> make_detect_source(std::shared_ptr<grpc::Channel> channel, const SourceOptions& options) {
  return std::make_unique<DetectSource>(std::move(channel), options);
}

}  // namespace sparrow::client
