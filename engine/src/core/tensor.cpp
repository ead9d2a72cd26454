#include "sparrow/tensor.h"

#include <cstdlib>
#include <cstring>

namespace sparrow {

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return 4;
    case DType::kUint8: return 1;
    case DType::kInt8: return 1;
    case DType::kInt32: return 4;
    case DType::kInt64: return 8;
    case DType::kBool: return 1;
  }
  return 0;
}

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return "float32";
    case DType::kUint8: return "uint8";
    case DType::kInt8: return "int8";
    case DType::kInt32: return "int32";
    case DType::kInt64: return "int64";
    case DType::kBool: return "bool";
  }
  return "?";
}

int64_t num_elements(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_string(const Shape& shape) {
  if (shape.empty()) return "scalar";
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += 'x';
    s += std::to_string(shape[i]);
  }
  return s;
}

namespace {

std::shared_ptr<std::byte> allocate(size_t bytes, bool zeroed) {
  // At least one cache line so that empty tensors still own a valid pointer.
  size_t rounded = ((bytes + 63) / 64) * 64;
  if (rounded == 0) rounded = 64;
  void* p = std::aligned_alloc(64, rounded);
  if (!p) {
    throw Error(ErrorCode::kResourceExhausted,
                "cannot allocate " + std::to_string(bytes) + " bytes for a tensor");
  }
  if (zeroed) std::memset(p, 0, rounded);
  return std::shared_ptr<std::byte>(static_cast<std::byte*>(p), [](std::byte* q) { std::free(q); });
}

}  // namespace

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  for (int64_t d : shape_) {
    if (d < 0) throw Error(ErrorCode::kInvalidArgument, "negative dim in tensor shape " + shape_string(shape_));
  }
  storage_ = allocate(bytes(), true);
}

Tensor Tensor::uninitialized(DType dtype, Shape shape) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  for (int64_t d : t.shape_) {
    if (d < 0) throw Error(ErrorCode::kInvalidArgument, "negative dim in tensor shape " + shape_string(t.shape_));
  }
  t.storage_ = allocate(t.bytes(), false);
  return t;
}

void Tensor::check_dtype(DType requested) const {
  if (requested != dtype_) {
    throw Error(ErrorCode::kInvalidArgument, std::string("tensor holds ") + dtype_name(dtype_) +
                                                 ", accessed as " + dtype_name(requested));
  }
}

Tensor Tensor::clone() const {
  Tensor copy(dtype_, shape_);
  if (bytes()) std::memcpy(copy.data(), data(), bytes());
  return copy;
}

Tensor Tensor::reshaped(Shape shape) const {
  if (num_elements(shape) != size()) {
    throw Error(ErrorCode::kInvalidArgument,
                "cannot reshape " + shape_string(shape_) + " to " + shape_string(shape));
  }
  Tensor view = *this;
  view.shape_ = std::move(shape);
  return view;
}

std::vector<int64_t> Tensor::to_int64_vector() const {
  std::vector<int64_t> out(static_cast<size_t>(size()));
  const std::byte* p = storage_.get();
  for (size_t i = 0; i < out.size(); ++i) {
    switch (dtype_) {
      case DType::kInt64: out[i] = reinterpret_cast<const int64_t*>(p)[i]; break;
      case DType::kInt32: out[i] = reinterpret_cast<const int32_t*>(p)[i]; break;
      case DType::kUint8: out[i] = reinterpret_cast<const uint8_t*>(p)[i]; break;
      case DType::kInt8: out[i] = reinterpret_cast<const int8_t*>(p)[i]; break;
      case DType::kBool: out[i] = reinterpret_cast<const bool*>(p)[i] ? 1 : 0; break;
      case DType::kFloat32:
        throw Error(ErrorCode::kInvalidArgument, "float32 tensor used where integers are expected");
    }
  }
  return out;
}

}  // namespace sparrow
