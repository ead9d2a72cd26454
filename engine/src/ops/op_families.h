// Each op family registers its definitions; op_registry.cpp calls every one of these once.
#pragma once

#include <vector>

#include "ops/op_registry.h"

namespace sparrow::ops {

// Add Sub Mul Div Pow Equal Where
void register_binary_ops(std::vector<OpDef>& ops);
// Sigmoid Silu Relu Tanh Cast
void register_unary_ops(std::vector<OpDef>& ops);
// LeakyRelu HardSigmoid HardSwish Clip
void register_activation_ops(std::vector<OpDef>& ops);
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
// QLinearAdd QLinearMul (com.microsoft)
void register_qlinear_binary_ops(std::vector<OpDef>& ops);
// QLinearSigmoid QLinearLeakyRelu (com.microsoft)
void register_qlinear_unary_ops(std::vector<OpDef>& ops);
// QLinearConcat (com.microsoft)
void register_qlinear_concat_ops(std::vector<OpDef>& ops);
// MatMul
void register_matmul_ops(std::vector<OpDef>& ops);
// MatMulInteger QLinearMatMul
void register_integer_matmul_ops(std::vector<OpDef>& ops);
// ConvInteger
void register_conv_integer_ops(std::vector<OpDef>& ops);
// LookupTable
void register_lookup_table_ops(std::vector<OpDef>& ops);
// SegmentedElementwise
void register_segmented_elementwise_ops(std::vector<OpDef>& ops);
// ConvSegmented
void register_conv_segmented_ops(std::vector<OpDef>& ops);

}  // namespace sparrow::ops
