// Each op family registers its definitions; op_registry.cpp calls every one of these once.
#pragma once

#include <vector>

#include "ops/op_registry.h"

namespace sparrow::ops {

// Add Sub Mul Div Pow Equal Where
void register_binary_ops(std::vector<OpDef>& ops);
// Sigmoid Silu Relu Cast
void register_unary_ops(std::vector<OpDef>& ops);
// Shape Reshape Flatten Squeeze Unsqueeze Identity Constant ConstantOfShape Range
void register_shape_ops(std::vector<OpDef>& ops);
// Concat Split Slice Transpose Gather Expand
void register_data_movement_ops(std::vector<OpDef>& ops);
// Conv ConvTranspose
void register_conv_ops(std::vector<OpDef>& ops);
// MaxPool
void register_pool_ops(std::vector<OpDef>& ops);
// Resize Upsample
void register_resize_ops(std::vector<OpDef>& ops);
// QuantizeLinear DequantizeLinear
void register_quant_ops(std::vector<OpDef>& ops);
// QLinearConv
void register_qlinear_conv_ops(std::vector<OpDef>& ops);
// QLinearAdd
void register_qlinear_add_ops(std::vector<OpDef>& ops);
// LookupTable
void register_lookup_table_ops(std::vector<OpDef>& ops);

}  // namespace sparrow::ops
