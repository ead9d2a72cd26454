// A non-owning view of a dense row-major tensor: what reference kernels read and write.
#pragma once

#include "sparrow/tensor.h"

namespace sparrow::ops {

struct TensorView {
  DType dtype = DType::kFloat32;
  Shape shape;
  void* data = nullptr;

  int64_t size() const { return num_elements(shape); }
  size_t bytes() const { return static_cast<size_t>(size()) * dtype_size(dtype); }
  template <typename T>
  T* as() const { return static_cast<T*>(data); }

  static TensorView of(Tensor& t) { return {t.dtype(), t.shape(), t.data()}; }
  static TensorView of(const Tensor& t) { return {t.dtype(), t.shape(), const_cast<void*>(t.data())}; }
};

// Calls f(T{}) with T the C++ type of dtype; f is a generic lambda.
template <typename F>
decltype(auto) dispatch_dtype(DType dtype, F&& f) {
  switch (dtype) {
    case DType::kFloat32: return f(float{});
    case DType::kUint8: return f(uint8_t{});
    case DType::kInt8: return f(int8_t{});
    case DType::kInt32: return f(int32_t{});
    case DType::kInt64: return f(int64_t{});
    case DType::kBool: return f(bool{});
  }
  return f(float{});
}

}  // namespace sparrow::ops
