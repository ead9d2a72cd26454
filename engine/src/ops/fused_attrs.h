// Attributes that Sparrow's fusion passes add to Conv. ONNX files cannot set them: the checker
// rejects attributes a schema does not declare.
#pragma once

#include <string>

#include "graph/attributes.h"

namespace sparrow::ops {

inline constexpr const char* kActivationAttr = "sparrow.activation";  // "silu" | "relu" | "sigmoid"
inline constexpr const char* kResidualAttr = "sparrow.residual";      // 1: input 3 is added last
// QLinearConv only. 1: input 9 is a 256-entry 8-bit table that maps each output byte, last (a
// LookupTable absorbed by passes/fuse_conv_lookup); the output has the table's type.
inline constexpr const char* kTableAttr = "sparrow.table";
// QLinearConv only. 1: y_scale and y_zero_point are absent and the output is the float result,
// act(x_scale * w_scale[c] * acc + bias[c]), the bias (input 8) float: a DequantizeLinear'd u8
// input and s8 weights into a conv whose output stays float (YOLOv5's Detect convs in QDQ files).
inline constexpr const char* kFloatOutputAttr = "sparrow.float_output";
inline constexpr int kTableInput = 9;
// QLinearConv only. 1: inputs 10-17 are a QLinearAdd's eight (A, A_scale, A_zero_point, B, ...,
// Y_zero_point) with the conv's own result, after its table, absent from the A or B slot: the
// residual add of passes/fuse_conv_residual. The output is the add's.
inline constexpr const char* kAddAttr = "sparrow.add";
inline constexpr int kAddInput = 10;

enum class Activation { kNone, kSilu, kRelu, kSigmoid };

Activation activation_of(const graph::Attributes& attrs);
float apply_activation(Activation a, float x);
const char* activation_name(Activation a);

}  // namespace sparrow::ops
