// What the integer and QLinear* ops share: reading integers of any quantized type, quantizing a
// real value onto an 8-bit grid as ONNX does, and validating quantization parameters so that a
// malformed model fails at import with the parameter named rather than computing garbage.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ops/op_registry.h"

namespace sparrow::ops {

// Element i of a uint8, int8 or int32 tensor.
int32_t integer_at(const TensorView& v, int64_t i);

// Element i of input `index` as a zero point, or 0 when that optional input is absent.
int32_t zero_point_at(const std::vector<TensorView>& in, size_t index, int64_t i = 0);

// saturate(round_half_to_even(real / scale) + zero) in out's 8-bit type, stored at element i.
// Computed in float as onnxruntime's reference does; NaN lands on the type's lowest value.
void store_quantized(const TensorView& out, int64_t i, float real, float scale, int32_t zero);

// One tensor's quantization parameters as an op lays them out: a float scale at input `scale`
// and a zero point of the tensor's type at input `zero` (optional where the op says so).
struct QuantParams {
  size_t scale = 0, zero = 0;
  std::string name;              // "a", "x", "Y": errors name "a_scale", "a_zero_point"
  DType type = DType::kUint8;    // the quantized tensor's type, which the zero point must have
  bool zero_optional = false;
  // Entries allowed besides 1 (per tensor): per row, column or channel; 0: per tensor only.
  int64_t per_axis = 0;
  const char* per_axis_what = "";  // "row", "column", "output channel"
};

// Every entry of a constant scale positive and finite, else kInvalidModel naming it: a zero scale
// divides by zero when quantizing and erases the tensor when dequantizing.
void check_scale_values(const InferContext& ctx, const Tensor& scale, const std::string& name);

// The input and weight shapes of ConvInteger and QLinearConv: 1D to 3D, weights that fit the
// input in `group` groups. Returns group; kUnsupported / kInvalidModel otherwise.
int64_t check_conv_shapes(const InferContext& ctx, const Shape& x, const Shape& w);

// Checks types, shapes, that the two agree in length, and that a scale known at compile time
// is positive and finite. Throws kInvalidModel naming the input. Returns the number of entries.
int64_t check_quant_params(const InferContext& ctx, const QuantParams& p);

}  // namespace sparrow::ops
