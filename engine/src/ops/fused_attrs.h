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
inline constexpr int kTableInput = 9;

enum class Activation { kNone, kSilu, kRelu, kSigmoid };

Activation activation_of(const graph::Attributes& attrs);
float apply_activation(Activation a, float x);
const char* activation_name(Activation a);

}  // namespace sparrow::ops
