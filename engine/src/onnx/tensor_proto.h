// onnx::TensorProto -> sparrow::Tensor, including raw, typed and external data.
#pragma once

#include <string>

#include "sparrow/tensor.h"

namespace onnx {
class TensorProto;
}

namespace sparrow::onnx_import {

// `base_dir` resolves external data; `what` names the tensor in errors ("initializer 'w'").
Tensor tensor_from_proto(const onnx::TensorProto& proto, const std::string& base_dir, const std::string& what);

}  // namespace sparrow::onnx_import
