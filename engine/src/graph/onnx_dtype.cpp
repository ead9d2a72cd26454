#include "graph/onnx_dtype.h"

namespace sparrow::graph {

// Numbering from onnx.proto (TensorProto.DataType); kept here so the IR does not need protobuf.
std::optional<DType> dtype_from_onnx(int64_t code) {
  switch (code) {
    case 1: return DType::kFloat32;
    case 2: return DType::kUint8;
    case 3: return DType::kInt8;
    case 6: return DType::kInt32;
    case 7: return DType::kInt64;
    case 9: return DType::kBool;
    default: return std::nullopt;
  }
}

int64_t dtype_to_onnx(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return 1;
    case DType::kUint8: return 2;
    case DType::kInt8: return 3;
    case DType::kInt32: return 6;
    case DType::kInt64: return 7;
    case DType::kBool: return 9;
  }
  return 0;
}

std::string onnx_dtype_name(int64_t code) {
  static const char* names[] = {"UNDEFINED", "FLOAT",  "UINT8",     "INT8",   "UINT16", "INT16",
                                "INT32",     "INT64",  "STRING",    "BOOL",   "FLOAT16", "DOUBLE",
                                "UINT32",    "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16"};
  if (code >= 0 && code < static_cast<int64_t>(sizeof(names) / sizeof(names[0]))) return names[code];
  return "dtype " + std::to_string(code);
}

}  // namespace sparrow::graph
