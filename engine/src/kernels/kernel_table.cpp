#include "kernels/kernel_table.h"

namespace sparrow::kernels {
namespace {

constexpr DType kF32 = DType::kFloat32;
constexpr DType kU8 = DType::kUint8;

}  // namespace

const std::vector<KernelRow>& kernel_table() {
  static const std::vector<KernelRow> table = {
      // Sparse rows first: each declines weights too dense to beat the dense row. Named as in
      // f32_spconv_variants().
      // The JIT row first: code generated per layer, faster than the intrinsic rows where it
      // accepts; it declines layers whose code would be too large, which the next rows then take.
      {"sparse-conv-f32-1x1-jit-avx512", "Conv", {kF32}, Isa::kAvx512, select_sparse_conv_f32_jit_avx512, true},
      {"sparse-conv-f32-4x1-64x1-avx512", "Conv", {kF32}, Isa::kAvx512, select_sparse_conv_f32_4x1_avx512, true},
      {"sparse-conv-f32-1x1-64x1-avx512", "Conv", {kF32}, Isa::kAvx512, select_sparse_conv_f32_1x1_avx512, true},
      {"sparse-conv-f32-4x1-32x1-avx2", "Conv", {kF32}, Isa::kAvx2, select_sparse_conv_f32_4x1_avx2, true},
      {"sparse-conv-f32-1x1-32x1-avx2", "Conv", {kF32}, Isa::kAvx2, select_sparse_conv_f32_1x1_avx2, true},
      {"sparse-conv-f32-4x1-16x1-scalar", "Conv", {kF32}, Isa::kScalar, select_sparse_conv_f32_4x1_scalar, true},
      {"sparse-conv-f32-1x1-16x1-scalar", "Conv", {kF32}, Isa::kScalar, select_sparse_conv_f32_1x1_scalar, true},
      {"f32-conv-onednn", "Conv", {kF32}, Isa::kScalar, select_onednn_conv},
      {"f32-deconv-onednn", "ConvTranspose", {kF32}, Isa::kScalar, select_onednn_deconv},
      // Sparse rows first, contested: they decline where their cost model predicts a loss, and
      // one that accepts is timed against the next acceptor. Named as in qu8_spconv_variants();
      // the scalar one comes after oneDNN, which beats it on any x86.
      // The JIT row first: code generated per layer, faster than the intrinsic rows where it
      // accepts; it declines layers whose code would be too large, which the next rows then take.
      {"sparse-conv-u8s8-4x1-jit-avx512vnni", "QLinearConv", {kU8}, Isa::kAvx512Vnni, select_qu8_spconv_jit_avx512vnni, true},
      {"sparse-conv-u8s8-4x1-64x2-avx512vnni", "QLinearConv", {kU8}, Isa::kAvx512Vnni, select_qu8_spconv_64x2_avx512vnni, true},
      {"sparse-conv-u8s8-4x1-32x4-avx512vnni", "QLinearConv", {kU8}, Isa::kAvx512Vnni, select_qu8_spconv_32x4_avx512vnni, true},
      {"sparse-conv-u8s8-4x1-16x4-avxvnni", "QLinearConv", {kU8}, Isa::kAvxVnni, select_qu8_spconv_avxvnni, true},
      {"sparse-conv-u8s8-4x1-16x2-avx2", "QLinearConv", {kU8}, Isa::kAvx2, select_qu8_spconv_avx2, true},
      {"qu8-conv-onednn", "QLinearConv", {kU8}, Isa::kScalar, select_onednn_qlinear_conv},
      // u8 in, float out (ops::kFloatOutputAttr): YOLOv5's Detect convs in QDQ files.
      {"qu8-f32-conv-onednn", "QLinearConv", {kU8}, Isa::kScalar, select_onednn_qlinear_conv_f32},
      {"sparse-conv-u8s8-4x1-8x1-scalar", "QLinearConv", {kU8}, Isa::kScalar, select_qu8_spconv_scalar, true},
      {"qu8-add-u16-avx512", "QLinearAdd", {kU8}, Isa::kAvx512, select_qu8_add_avx512},
      {"qu8-add-u8-avx2", "QLinearAdd", {kU8}, Isa::kAvx2, select_qu8_add_avx2},
      {"qu8-add-u1-scalar", "QLinearAdd", {kU8}, Isa::kScalar, select_qu8_add_scalar},
      // Any data type: LookupTable admits only u8 and s8. Named as in x8_lut_variants().
      {"x8-lut-u64-avx512vbmi", "LookupTable", {}, Isa::kAvx512Vbmi, select_x8_lut_avx512vbmi},
      {"x8-lut-u32-avx2", "LookupTable", {}, Isa::kAvx2, select_x8_lut_avx2},
      {"x8-lut-u4-scalar", "LookupTable", {}, Isa::kScalar, select_x8_lut_scalar},
      // Named as in f32_qu8_quantize_variants().
      {"f32-qu8-quantize-nhwc-16-avx512vbmi", "QuantizeLinear", {kF32}, Isa::kAvx512Vbmi, select_f32_qu8_quantize_nhwc_16_avx512vbmi},
      {"f32-quantize-onednn", "QuantizeLinear", {kF32}, Isa::kScalar, select_onednn_quantize},
      {"qu8-dequantize-onednn", "DequantizeLinear", {kU8}, Isa::kScalar, select_onednn_dequantize},
      {"qs8-dequantize-onednn", "DequantizeLinear", {DType::kInt8}, Isa::kScalar, select_onednn_dequantize},
      {"f32-maxpool-onednn", "MaxPool", {kF32}, Isa::kScalar, select_onednn_pool},
      {"u8-maxpool-onednn", "MaxPool", {kU8}, Isa::kScalar, select_onednn_pool},
      {"f32-resize-onednn", "Resize", {kF32}, Isa::kScalar, select_onednn_resample},
      {"u8-resize-onednn", "Resize", {kU8}, Isa::kScalar, select_onednn_resample},
      {"f32-upsample-onednn", "Upsample", {kF32}, Isa::kScalar, select_onednn_resample},
      {"u8-upsample-onednn", "Upsample", {kU8}, Isa::kScalar, select_onednn_resample},
      {"x-concat-memcpy", "Concat", {}, Isa::kScalar, select_concat_copy},
      {"x-concat-onednn", "Concat", {}, Isa::kScalar, select_onednn_concat},
      {"f32-sigmoid-onednn", "Sigmoid", {kF32}, Isa::kScalar, select_onednn_eltwise},
      {"f32-relu-onednn", "Relu", {kF32}, Isa::kScalar, select_onednn_eltwise},
      {"f32-silu-onednn", "Silu", {kF32}, Isa::kScalar, select_onednn_eltwise},
      {"f32-tanh-onednn", "Tanh", {kF32}, Isa::kScalar, select_onednn_eltwise},
      {"f32-leakyrelu-onednn", "LeakyRelu", {kF32}, Isa::kScalar, select_onednn_eltwise},
      {"f32-hardswish-onednn", "HardSwish", {kF32}, Isa::kScalar, select_onednn_eltwise},
      {"f32-hardsigmoid-onednn", "HardSigmoid", {kF32}, Isa::kScalar, select_onednn_eltwise},
      {"f32-clip-onednn", "Clip", {kF32}, Isa::kScalar, select_onednn_eltwise},
      {"f32-pow-onednn", "Pow", {kF32, kF32}, Isa::kScalar, select_onednn_eltwise},
      {"f32-add-onednn", "Add", {kF32, kF32}, Isa::kScalar, select_onednn_binary},
      {"f32-sub-onednn", "Sub", {kF32, kF32}, Isa::kScalar, select_onednn_binary},
      {"f32-mul-onednn", "Mul", {kF32, kF32}, Isa::kScalar, select_onednn_binary},
      {"f32-div-onednn", "Div", {kF32, kF32}, Isa::kScalar, select_onednn_binary},
      {"f32-matmul-onednn", "MatMul", {kF32, kF32}, Isa::kScalar, select_onednn_matmul},
      {"f32-segmented-elementwise-scalar", "SegmentedElementwise", {kF32}, Isa::kScalar, select_segmented_elementwise},
      {"f32-conv-segmented-onednn", "ConvSegmented", {kF32}, Isa::kScalar, select_conv_segmented},
      {"qu8-f32-conv-segmented-onednn", "ConvSegmented", {kU8}, Isa::kScalar, select_conv_segmented},
      {"x-transpose-onednn", "Transpose", {}, Isa::kScalar, select_onednn_transpose},
      {"x-slice-onednn", "Slice", {}, Isa::kScalar, select_onednn_slice},
      {"x-split-onednn", "Split", {}, Isa::kScalar, select_onednn_slice},
      {"x-reshape-view", "Reshape", {}, Isa::kScalar, select_view},
      {"x-flatten-view", "Flatten", {}, Isa::kScalar, select_view},
      {"x-squeeze-view", "Squeeze", {}, Isa::kScalar, select_view},
      {"x-unsqueeze-view", "Unsqueeze", {}, Isa::kScalar, select_view},
  };
  return table;
}

bool row_fits(const KernelRow& row, const SelectContext& ctx) {
  if (row.op != ctx.node.op) return false;
  for (size_t i = 0; i < row.input_dtypes.size(); ++i) {
    if (!ctx.has_input(i) || ctx.input(i).dtype != row.input_dtypes[i]) return false;
  }
  return isa_available(row.isa);
}

}  // namespace sparrow::kernels
