// ONNX's TensorProto.DataType codes, as they appear in attributes (Cast.to) and in model files.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "sparrow/tensor.h"

namespace sparrow::graph {

// The Sparrow dtype for an ONNX dtype code, or nullopt when the engine does not support it.
std::optional<DType> dtype_from_onnx(int64_t code);
int64_t dtype_to_onnx(DType dtype);
// "FLOAT16", "STRING", ... for messages about unsupported dtypes.
std::string onnx_dtype_name(int64_t code);

}  // namespace sparrow::graph
