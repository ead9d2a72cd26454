// A ModelInferRequest checked against a model (see kserve_model.h for the tensors it takes) and
// reduced to what the server runs. Only looks at sizes and headers: the payload itself is read
// later, on the pre-process pool.
#pragma once


#include <string>
#include <string_view>
#include <vector>

#include <grpcpp/support/status.h>

#include "kserve/grpc_predict_v2.pb.h"
#include "kserve_model.h"
#include "model.h"
#include "sparrow/yolo/detection.h"

namespace sparrow::server {

// The image tensor input's elements: views into the request, valid until it is answered.
struct TensorInput {
  bool uint8 = false;                                                // else FP32
  const std::string* raw = nullptr;                                  // raw_input_contents entry
  const google::protobuf::RepeatedField<float>* fp32 = nullptr;      // contents.fp32_contents
  const google::protobuf::RepeatedField<uint32_t>* uint = nullptr;   // contents.uint_contents
};

struct InferPlan {
  bool encoded = false;         // "encoded_images" rather than the image tensor
  size_t items = 0;             // batch items or images
  TensorInput tensor;           // when !encoded
  std::vector<std::string_view> images;  // when encoded: views into the request
  std::vector<std::string> outputs;      // names to answer with, in order
  bool raw_output = false;      // the request used raw_input_contents, so the response does too
  yolo::NmsOptions nms;         // from the request's parameters over the model's defaults
};

// INVALID_ARGUMENT naming the input, output or parameter that is wrong.
grpc::Status plan_infer(const inference::ModelInferRequest& request, const Model& model, InferPlan* plan);

// Converts batch item `index` of a tensor input to floats in dst (layout.input_elements()):
// UINT8 is scaled by 1/255 as the letterbox does. INVALID_ARGUMENT for uint_contents above 255.
grpc::Status read_tensor_item(const TensorInput& input, const TensorLayout& layout, size_t index, float* dst);

}  // namespace sparrow::server
