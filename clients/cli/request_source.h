// The requests the load generator sends: prepared once, then started asynchronously, round-robin
// over the images.
#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/support/status.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sparrow::client {

// Milliseconds the server reports spending on the images of successful requests, summed.
struct ServerTimings {
  uint64_t images = 0;  // 0 when the protocol reports no timings (KServe)
  double preprocess_ms = 0, queue_ms = 0, inference_ms = 0, postprocess_ms = 0;

  void add(const ServerTimings& t) {
    images += t.images;
    preprocess_ms += t.preprocess_ms;
    queue_ms += t.queue_ms;
    inference_ms += t.inference_ms;
    postprocess_ms += t.postprocess_ms;
  }
};

class RequestSource {
 public:
  using Done = std::function<void(const grpc::Status&, const ServerTimings&)>;
  virtual ~RequestSource() = default;

  // Starts request number `index` with a deadline `timeout_seconds` away. `done` runs exactly
  // once, on a gRPC thread (or, for a call that fails at once, possibly on the caller's).
  virtual void start(uint64_t index, double timeout_seconds, Done done) = 0;
  // One blocking call, made before the load starts so a wrong model, a bad image or an
  // unreachable server is one clear error instead of thousands of failed requests.
  virtual grpc::Status probe(double timeout_seconds) = 0;
  virtual int items_per_request() const = 0;
  // The model the server answered with (its default when none was named); known after probe().
  virtual std::string model() const = 0;
};

struct SourceOptions {
  std::string model;  // empty: the server's default
  std::vector<std::string> image_files;
  int images_per_request = 1;
  double timeout_seconds = 30;  // for the set-up calls
  // infer only: tensors go through a POSIX shared memory region registered with the server
  // (Triton's system-shared-memory extension) instead of through gRPC.
  bool shared_memory = false;
};

// Request i carries images i*n .. i*n+n-1 (mod the image count) for n images per request, so
// consecutive requests walk the images round-robin.
std::vector<size_t> images_of_request(size_t request, size_t images_per_request, size_t image_count);

// sparrow.v1.Detection/Detect with the encoded image files.
std::unique_ptr<RequestSource> make_detect_source(std::shared_ptr<grpc::Channel> channel, const SourceOptions& options);

// KServe v2 ModelInfer with the images decoded and letterboxed here, sent as one raw UINT8
// N x 3 x H x W tensor (in the request, or in shared memory): the server's engine without its
// image pre-processing. Asks the server for the model's input tensor first (ModelMetadata);
// throws RpcError if it cannot, or if it refuses the shared memory region.
std::unique_ptr<RequestSource> make_infer_source(std::shared_ptr<grpc::Channel> channel, const SourceOptions& options);

}  // namespace sparrow::client
