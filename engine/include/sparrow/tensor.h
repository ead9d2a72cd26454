// Tensor: the engine's host-side value type for inputs, outputs and constants.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sparrow/error.h"

namespace sparrow {

enum class DType : uint8_t { kFloat32, kUint8, kInt8, kInt32, kInt64, kBool };

size_t dtype_size(DType dtype);
const char* dtype_name(DType dtype);

template <typename T>
constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::kFloat32; }
template <> constexpr DType dtype_of<uint8_t>() { return DType::kUint8; }
template <> constexpr DType dtype_of<int8_t>() { return DType::kInt8; }
template <> constexpr DType dtype_of<int32_t>() { return DType::kInt32; }
template <> constexpr DType dtype_of<int64_t>() { return DType::kInt64; }
template <> constexpr DType dtype_of<bool>() { return DType::kBool; }

using Shape = std::vector<int64_t>;

// Product of the dims; 1 for a scalar.
int64_t num_elements(const Shape& shape);
// "1x3x640x640"; "scalar" for rank 0.
std::string shape_string(const Shape& shape);

// A dense row-major tensor in 64-byte aligned host memory. Copies are shallow (they share the
// buffer, as cv::Mat does); clone() makes a deep copy.
class Tensor {
 public:
  Tensor() = default;
  // Zero-initialised storage.
  Tensor(DType dtype, Shape shape);
  // Storage whose contents are undefined until written: for outputs about to be overwritten.
  static Tensor uninitialized(DType dtype, Shape shape);

  template <typename T>
  static Tensor from_vector(Shape shape, const std::vector<T>& values);
  template <typename T>
  static Tensor scalar(T value) { return from_vector<T>({}, {value}); }

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  int64_t size() const { return num_elements(shape_); }
  size_t bytes() const { return static_cast<size_t>(size()) * dtype_size(dtype_); }
  bool empty() const { return !storage_; }

  void* data() { return storage_.get(); }
  const void* data() const { return storage_.get(); }
  // Typed access; throws if T does not match the dtype.
  template <typename T>
  T* data_as();
  template <typename T>
  const T* data_as() const;

  Tensor clone() const;
  // Same buffer, new shape with the same number of elements.
  Tensor reshaped(Shape shape) const;
  // Element values widened to int64 (integer and bool tensors); for shape-like data.
  std::vector<int64_t> to_int64_vector() const;

 private:
  void check_dtype(DType requested) const;

  DType dtype_ = DType::kFloat32;
  Shape shape_;
  std::shared_ptr<std::byte> storage_;
};

template <typename T>
Tensor Tensor::from_vector(Shape shape, const std::vector<T>& values) {
  Tensor t(dtype_of<T>(), std::move(shape));
  if (static_cast<int64_t>(values.size()) != t.size()) {
    throw Error(ErrorCode::kInvalidArgument, "Tensor::from_vector: " + std::to_string(values.size()) +
                                                 " values for shape " + shape_string(t.shape()));
  }
  T* dst = t.data_as<T>();
  for (size_t i = 0; i < values.size(); ++i) dst[i] = values[i];
  return t;
}

template <typename T>
T* Tensor::data_as() {
  check_dtype(dtype_of<T>());
  return reinterpret_cast<T*>(storage_.get());
}

template <typename T>
const T* Tensor::data_as() const {
  check_dtype(dtype_of<T>());
  return reinterpret_cast<const T*>(storage_.get());
}

}  // namespace sparrow
