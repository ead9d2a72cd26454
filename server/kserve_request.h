// A ModelInferRequest checked against a model (see kserve_model.h for the tensors it takes) and
// reduced to what the server runs. Only looks at sizes and headers: the payload itself is read
// later, on the pre-process pool.
#pragma once


#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <grpcpp/support/status.h>

#include "kserve/grpc_predict_v2.pb.h"
#include "kserve_model.h"
#include "model.h"
#include "shared_memory_regions.h"
#include "sparrow/yolo/detection.h"

namespace sparrow::server {

// The image tensor input's elements: views into the request (valid until it is answered) or into
// a shared memory region (kept mapped by `region`).
struct TensorInput {
  bool uint8 = false;                                                // else FP32
  std::optional<std::string_view> raw;                               // raw_input_contents or shared memory
  std::shared_ptr<const SharedMemoryRegion> region;                  // set when raw is in shared memory
  const google::protobuf::RepeatedField<float>* fp32 = nullptr;      // contents.fp32_contents
  const google::protobuf::RepeatedField<uint32_t>* uint = nullptr;   // contents.uint_contents
};

struct InferPlan {
  bool encoded = false;         // "encoded_images" rather than the image tensor
  size_t items = 0;             // batch items or images
  TensorInput tensor;           // when !encoded
  std::vector<std::string_view> images;  // when encoded: views into the request or into owned_images
  std::shared_ptr<const std::string> owned_images;  // encoded images copied out of shared memory
  std::vector<std::string> outputs;      // names to answer with, in order
  bool raw_output = false;      // the input was raw (or in shared memory), so the response is raw too
  yolo::NmsOptions nms;         // from the request's parameters over the model's defaults
};

// INVALID_ARGUMENT naming the input, output or parameter that is wrong. `regions` are the
// shared memory regions inputs may name.
grpc::Status plan_infer(const inference::ModelInferRequest& request, const Model& model,
                        const SharedMemoryRegions& regions, InferPlan* plan);

// Converts batch item `index` of a tensor input to floats in dst (layout.input_elements()):
// UINT8 is scaled by 1/255 as the letterbox does. INVALID_ARGUMENT for uint_contents above 255,
// or for a shared memory region whose object was truncated after it was registered.
grpc::Status read_tensor_item(const TensorInput& input, const TensorLayout& layout, size_t index, float* dst);

}  // namespace sparrow::server
