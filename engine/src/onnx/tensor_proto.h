// onnx::TensorProto -> sparrow::Tensor, including raw, typed and external data.
#pragma once

#include <string>

#include "sparrow/tensor.h"

namespace onnx {
class TensorProto;
}

namespace sparrow::onnx_import {

// `what` names the tensor in errors ("initializer 'w'"). External data must have been loaded.
Tensor tensor_from_proto(const onnx::TensorProto& proto, const std::string& what);

// Reads a tensor's external data file (relative to `base_dir`) into its raw_data, so that the
// model becomes self-contained. No-op for tensors stored inline.
void load_external_data(onnx::TensorProto& proto, const std::string& base_dir, const std::string& what);

}  // namespace sparrow::onnx_import
