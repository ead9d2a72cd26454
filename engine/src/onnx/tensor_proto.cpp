#include "onnx/tensor_proto.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include <onnx/onnx_pb.h>

#include "graph/onnx_dtype.h"
#include "sparrow/error.h"

namespace sparrow::onnx_import {
namespace {

[[noreturn]] void fail(const std::string& what, const std::string& why) {
  throw Error(ErrorCode::kInvalidModel, what + ": " + why);
}

// Element count, guarding against dims that a corrupt file could make negative or overflowing.
int64_t checked_elements(const onnx::TensorProto& proto, const std::string& what) {
  int64_t n = 1;
  for (int64_t d : proto.dims()) {
    if (d < 0) fail(what, "negative dim " + std::to_string(d));
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / 16 / d) fail(what, "dims overflow");
    n *= d;
  }
  return n;
}

std::string read_external(const onnx::TensorProto& proto, const std::string& base_dir, const std::string& what,
                          size_t expected_bytes) {
  std::string location;
  int64_t offset = 0;
  int64_t length = -1;
  for (const auto& entry : proto.external_data()) {
    if (entry.key() == "location") location = entry.value();
    try {
      if (entry.key() == "offset") offset = std::stoll(entry.value());
      if (entry.key() == "length") length = std::stoll(entry.value());
    } catch (const std::exception&) {
      fail(what, "external data " + entry.key() + " '" + entry.value() + "' is not a number");
    }
  }
  if (location.empty()) fail(what, "external data has no location");
  // Weights must sit beside the model: no absolute paths, no climbing out of its directory.
  if (std::filesystem::path(location).is_absolute() || location.find("..") != std::string::npos) {
    fail(what, "external data location '" + location + "' must be a relative path inside the model's directory");
  }
  if (base_dir.empty()) {
    fail(what, "weights are stored in external file '" + location +
                   "', but the model was given as bytes without a directory to find it in");
  }
  std::filesystem::path path = std::filesystem::path(base_dir) / location;
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    throw Error(ErrorCode::kNotFound,
                what + ": external weights file '" + path.string() + "' cannot be opened (missing?)");
  }
  if (length >= 0 && static_cast<size_t>(length) != expected_bytes) {
    fail(what, "external data length " + std::to_string(length) + " does not match " +
                   std::to_string(expected_bytes) + " bytes of its shape");
  }
  file.seekg(0, std::ios::end);
  const int64_t file_size = file.tellg();
  if (offset < 0 || offset + static_cast<int64_t>(expected_bytes) > file_size) {
    fail(what, "external file '" + path.string() + "' is too short for the tensor (truncated?)");
  }
  std::string data(expected_bytes, '\0');
  file.seekg(offset);
  file.read(data.data(), static_cast<std::streamsize>(expected_bytes));
  if (!file) throw Error(ErrorCode::kIo, what + ": reading '" + path.string() + "' failed");
  return data;
}

template <typename Dst, typename Field>
void copy_typed(const Field& field, Tensor& t) {
  Dst* dst = static_cast<Dst*>(t.data());
  for (int i = 0; i < field.size(); ++i) dst[i] = static_cast<Dst>(field.Get(i));
}

}  // namespace

void load_external_data(onnx::TensorProto& proto, const std::string& base_dir, const std::string& what) {
  if (proto.data_location() != onnx::TensorProto::EXTERNAL) return;
  auto dtype = graph::dtype_from_onnx(proto.data_type());
  if (!dtype) {
    throw Error(ErrorCode::kUnsupported,
                what + ": dtype " + graph::onnx_dtype_name(proto.data_type()) + " is not supported");
  }
  const size_t bytes = static_cast<size_t>(checked_elements(proto, what)) * dtype_size(*dtype);
  proto.set_raw_data(read_external(proto, base_dir, what, bytes));
  proto.clear_external_data();
  proto.set_data_location(onnx::TensorProto::DEFAULT);
}

Tensor tensor_from_proto(const onnx::TensorProto& proto, const std::string& what) {
  auto dtype = graph::dtype_from_onnx(proto.data_type());
  if (!dtype) {
    throw Error(ErrorCode::kUnsupported,
                what + ": dtype " + graph::onnx_dtype_name(proto.data_type()) + " is not supported");
  }
  const int64_t count = checked_elements(proto, what);
  const size_t expected_bytes = static_cast<size_t>(count) * dtype_size(*dtype);
  Shape shape(proto.dims().begin(), proto.dims().end());

  if (proto.data_location() == onnx::TensorProto::EXTERNAL) fail(what, "external data was not loaded");
  if (proto.has_raw_data()) {
    const std::string& raw = proto.raw_data();
    if (raw.size() != expected_bytes) {
      fail(what, std::to_string(raw.size()) + " bytes stored, shape " + shape_string(shape) + " needs " +
                     std::to_string(expected_bytes));
    }
    Tensor t(*dtype, shape);
    if (expected_bytes) std::memcpy(t.data(), raw.data(), expected_bytes);
    return t;
  }

  // Checked before allocating, so a corrupt shape cannot request absurd memory.
  const int stored = *dtype == DType::kFloat32 ? proto.float_data_size()
                     : *dtype == DType::kInt64 ? proto.int64_data_size()
                                               : proto.int32_data_size();
  if (stored != count) {
    fail(what, std::to_string(stored) + " values stored for shape " + shape_string(shape));
  }
  Tensor t(*dtype, shape);
  switch (*dtype) {
    case DType::kFloat32: copy_typed<float>(proto.float_data(), t); break;
    case DType::kInt64: copy_typed<int64_t>(proto.int64_data(), t); break;
    case DType::kInt32: copy_typed<int32_t>(proto.int32_data(), t); break;
    case DType::kInt8: copy_typed<int8_t>(proto.int32_data(), t); break;
    case DType::kUint8: copy_typed<uint8_t>(proto.int32_data(), t); break;
    case DType::kBool: copy_typed<bool>(proto.int32_data(), t); break;
  }
  return t;
}

}  // namespace sparrow::onnx_import
