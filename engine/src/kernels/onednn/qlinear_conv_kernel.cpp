// QLinearConv on oneDNN's int8 convolution: u8 source, s8 weights packed once, s32
// accumulation, then the float epilogue oneDNN v2 defines: output scale x_scale * w_scale[c]
// times (accumulator + bias), the activation, 1 / y_scale, rounding, the destination zero point,
// and saturation to u8 or s8 (or, for a float output, the scaled result itself). The source zero
// point is oneDNN's to compensate.
// Declines (for the reference) where oneDNN would differ: its reference implementation only,
// or pairs of products that could saturate on a CPU without VNNI.
#include <cstdlib>

#include "kernels/onednn/conv_common.h"
#include "kernels/onednn/primitive_kernel.h"
#include "kernels/selection.h"
#include "ops/fused_attrs.h"
#include "ops/window_params.h"

namespace sparrow::kernels {
namespace {

using dnnl::memory;
using tag = memory::format_tag;

enum Input { kX, kXScale, kXZero, kW, kWScale, kWZero, kYScale, kYZero, kBias };

// Without VNNI, oneDNN multiplies u8 by s8 with vpmaddubsw, which adds each pair of products in
// 16 bits with saturation: 255 * 127 * 2 overflows. Weights within +-63 cannot overflow.
bool pairs_may_saturate(const Tensor& w) {
  const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
  const bool vnni = isa == dnnl::cpu_isa::avx2_vnni || isa == dnnl::cpu_isa::avx512_core_vnni ||
                    isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
  if (vnni) return false;
  for (int64_t i = 0; i < w.size(); ++i) {
    if (std::abs(w.data_as<int8_t>()[i]) > 63) return true;
  }
  return false;
}

bool supported(const SelectContext& ctx, int residual, std::string& why_not) {
  for (size_t i = 1; i < ctx.node.inputs.size(); ++i) {
    if (ctx.has_input(i) && !ctx.constant(i) && static_cast<int>(i) != residual) {
      why_not = "weights or quantization parameters are computed at run time";
      return false;
    }
  }
  if (ctx.input(kX).dtype != DType::kUint8 || ctx.input(kW).dtype != DType::kInt8) {
    why_not = "needs u8 activations and s8 weights";
    return false;
  }
  const Tensor& w_zero = *ctx.constant(kWZero);
  for (int64_t i = 0; i < w_zero.size(); ++i) {
    if (w_zero.data_as<int8_t>()[i] != 0) {
      why_not = "weights have a zero point other than 0";
      return false;
    }
  }
  if (pairs_may_saturate(*ctx.constant(kW))) {
    why_not = "weights beyond +-63 would saturate vpmaddubsw on a CPU without VNNI";
    return false;
  }
  return num_elements(ctx.output(0).shape) > 0;
}

// Channels last, one byte per element and no padding, for a rank-3 to rank-5 activation.
tag channels_last(size_t rank) { return rank == 3 ? tag::nwc : rank == 5 ? tag::ndhwc : tag::nhwc; }

Tensor accumulator_units(const Tensor& bias, float x_scale, const Tensor& w_scale) {
  Tensor b(DType::kFloat32, bias.shape());
  for (int64_t c = 0; c < bias.size(); ++c) {
    b.data_as<float>()[c] = bias.data_as<float>()[c] / (x_scale * w_scale.data_as<float>()[w_scale.size() > 1 ? c : 0]);
  }
  return b;
}

bool float_output(const SelectContext& ctx) { return ctx.node.attrs.get_int(ops::kFloatOutputAttr, 0) != 0; }

int32_t scalar_integer(const Tensor& t) { return static_cast<int32_t>(t.to_int64_vector()[0]); }

// `nhwc`: channels-last source and destination instead of oneDNN's choice.
std::optional<Selection> select(const SelectContext& ctx, std::string& why_not, bool nhwc = false) {
  const std::optional<FusedResidualAdd> add = fused_residual_add(ctx, why_not);
  if (!why_not.empty()) return std::nullopt;
  if (!supported(ctx, add ? add->input : -1, why_not)) return std::nullopt;
  const Shape& x = ctx.input(kX).shape;
  const Shape& w = ctx.input(kW).shape;
  const Shape& y = ctx.output(0).shape;
  const DType y_type = ctx.output(0).dtype;
  const int64_t group = ctx.node.attrs.get_int("group", 1);
  const ops::WindowParams p = ops::window_params(ctx.node.attrs, {x.begin() + 2, x.end()}, {w.begin() + 2, w.end()}, false);

  // A float output (ops::kFloatOutputAttr) has no grid: scale 1, zero point 0, a float bias.
  const bool to_float = float_output(ctx);
  const float x_scale = ctx.constant(kXScale)->data_as<float>()[0];
  const float y_scale = to_float ? 1.0f : ctx.constant(kYScale)->data_as<float>()[0];
  const Tensor& w_scale = *ctx.constant(kWScale);
  const ops::Activation act = ops::activation_of(ctx.node.attrs);
  // Without an activation y_scale folds into the output scales; with one it must follow it.
  // round((acc + bias) * ((x_scale * w_scale) / y_scale)) + y_zero, in this order and in float,
  // is ONNX Runtime's requantization to the last bit (and the reference kernel's), so that both
  // runtimes round the same accumulators the same way.
  const float divisor = act == ops::Activation::kNone ? y_scale : 1.0f;
  std::vector<float> scales;
  for (int64_t c = 0; c < w_scale.size(); ++c) scales.push_back(x_scale * w_scale.data_as<float>()[c] / divisor);

  dnnl::primitive_attr attr = default_attr();
  attr.set_output_scales(scales.size() > 1 ? 1 << 1 : 0, scales);
  const int32_t x_zero = scalar_integer(*ctx.constant(kXZero)), y_zero = to_float ? 0 : scalar_integer(*ctx.constant(kYZero));
  std::vector<std::pair<int, memory>> constants;
  if (x_zero != 0) {
    attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
    constants.emplace_back(DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, runtime_zero_point(x_zero));
  }
  if (y_zero != 0) {
    attr.set_zero_points(DNNL_ARG_DST, 0, {DNNL_RUNTIME_S32_VAL});
    constants.emplace_back(DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_DST, runtime_zero_point(y_zero));
  }
  dnnl::post_ops post_ops;
  append_activation(post_ops, act, 1.0f / y_scale);
  // oneDNN adds the destination zero point before it rounds: x.5 - ulp + 142 rounds up in float.
  // Rounding first makes the sum exact.
  if (y_zero != 0) post_ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_round, 0.0f, 0.0f);
  attr.set_post_ops(post_ops);

  const memory::desc src_any(onednn_dims(x), memory::data_type::u8, nhwc ? channels_last(x.size()) : tag::any);
  // The fused steps map the output's bytes in place: they need one byte per element, no padding.
  const Tensor* table = ctx.node.attrs.get_int(ops::kTableAttr, 0) != 0 ? ctx.constant(ops::kTableInput) : nullptr;
  const memory::desc dst_any(onednn_dims(y), onednn_dtype(y_type), table || add || nhwc ? channels_last(y.size()) : tag::any);
  const memory::desc weights_any(weight_dims(w, group, false), memory::data_type::s8, tag::any);
  const memory::data_type bias_type = to_float ? memory::data_type::f32 : memory::data_type::s32;
  const memory::desc bias_md = ctx.has_input(kBias) ? memory::desc({w[0]}, bias_type, tag::x) : memory::desc();
  dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_any,
                                       weights_any, bias_md, dst_any, dims_minus(p.strides), dims_minus(p.dilations, 1),
                                       dims_minus(p.pads_begin), dims_minus(p.pads_end));
  dnnl::convolution_forward::primitive_desc pd(desc, attr, cpu_engine());
  if (is_reference_implementation(pd)) {
    why_not = "oneDNN offers only its reference implementation (" + implementation_name(pd) + ")";
    return std::nullopt;
  }
  constants.emplace_back(DNNL_ARG_WEIGHTS, pack_constant(ctx.constant(kW)->data(),
                                                         plain_desc(DType::kInt8, w).reshape(weight_dims(w, group, false)),
                                                         pd.weights_desc()));
  if (ctx.has_input(kBias)) {
    // oneDNN adds the bias to the accumulator before the output scale: a float bias goes in the
    // accumulator's units.
    const Tensor bias = to_float ? accumulator_units(*ctx.constant(kBias), x_scale, w_scale) : ctx.constant(kBias)->clone();
    constants.emplace_back(DNNL_ARG_BIAS, pack_constant(bias.data(), bias_md, bias_md));
  }

  Selection s;
  s.kernel = std::make_unique<PrimitiveKernel>(dnnl::convolution_forward(pd), pd,
                                               std::vector<ArgBinding>{{DNNL_ARG_SRC, 0, pd.src_desc()}},
                                               std::vector<ArgBinding>{{DNNL_ARG_DST, 0, pd.dst_desc()}}, std::move(constants));
  s.kernel = with_output_steps(std::move(s.kernel), table, add, static_cast<size_t>(num_elements(y)));
  s.input_layouts.assign(ctx.node.inputs.size(), Layout::plain());
  s.input_layouts[kX] = layout_of(pd.src_desc(), DType::kUint8, x);
  s.output_layouts = {layout_of(pd.dst_desc(), y_type, y)};
  pack_inputs_but_residual(s, ctx, add);
  s.gflop = 2.0 * static_cast<double>(num_elements(y)) * static_cast<double>(num_elements(w) / w[0]) / 1e9;
  return s;
}

}  // namespace

// Two rows, so that a kernel filter can tell the u8-output convs from the float-output ones.
std::optional<Selection> select_onednn_qlinear_conv(const SelectContext& ctx, std::string& why_not) {
  if (float_output(ctx)) {
    why_not = "a float output: the qu8-f32-conv-onednn row's";
    return std::nullopt;
  }
  return select(ctx, why_not);
}

std::optional<Selection> select_onednn_qlinear_conv_f32(const SelectContext& ctx, std::string& why_not) {
  if (!float_output(ctx)) {
    why_not = "an 8-bit output: the qu8-conv-onednn row's";
    return std::nullopt;
  }
  return select(ctx, why_not);
}

std::optional<Selection> select_onednn_qlinear_conv_f32_nhwc(const SelectContext& ctx, std::string& why_not) {
  if (!float_output(ctx)) {
    why_not = "an 8-bit output: the qu8-conv-onednn row's";
    return std::nullopt;
  }
  return select(ctx, why_not, true);
}

}  // namespace sparrow::kernels
