// Dense Conv and ConvTranspose through oneDNN, with fused activation and residual sum post-ops,
// in the layouts oneDNN chooses (format_tag::any) and weights packed once at compile time.
#include "kernels/onednn/conv_common.h"
#include "kernels/onednn/primitive_kernel.h"
#include "kernels/selection.h"
#include "ops/fused_attrs.h"
#include "ops/window_params.h"

namespace sparrow::kernels {
namespace {

using dnnl::memory;
using tag = memory::format_tag;

// How a fused residual input (input 3) reaches the output.
enum class Residual { kNone, kSum, kBinaryAdd };

// Common checks: float data, spatial rank 1 to 3, weights (and bias) known at compile time.
bool conv_supported(const SelectContext& ctx, std::string& why_not) {
  if (ctx.input(0).dtype != DType::kFloat32) {
    why_not = "input is not float32";
    return false;
  }
  if (!ctx.constant(1)) {
    why_not = "weights are computed at run time";
    return false;
  }
  if (ctx.has_input(2) && !ctx.constant(2)) {
    why_not = "bias is computed at run time";
    return false;
  }
  if (num_elements(ctx.output(0).shape) == 0) {
    why_not = "empty output";
    return false;
  }
  return true;
}

// ONNX stores ConvTranspose weights as [I][O/G][k...]: strides of that order under oneDNN's dims.
memory::desc transposed_weight_plain_desc(const Shape& w, int64_t group) {
  const memory::dims dims = weight_dims(w, group, true);
  int64_t kvol = 1;
  for (size_t i = 2; i < w.size(); ++i) kvol *= w[i];
  const int64_t og = w[1], ig = w[0] / group;
  memory::dims strides;
  if (group > 1) strides = {ig * og * kvol, kvol, og * kvol};
  else strides = {kvol, og * kvol};
  int64_t s = kvol;
  for (size_t i = 2; i < w.size(); ++i) {
    s /= w[i];
    strides.push_back(s);
  }
  return memory::desc(dims, memory::data_type::f32, strides);
}

// Each output element of a Conv (each input element of a ConvTranspose) meets w[0]-th of the weights.
double conv_gflop(const SelectContext& ctx) {
  const Shape& w = ctx.input(1).shape;
  const Shape& per_element = ctx.node.op == "ConvTranspose" ? ctx.input(0).shape : ctx.output(0).shape;
  const double macs = static_cast<double>(num_elements(per_element)) * static_cast<double>(num_elements(w) / w[0]);
  return 2.0 * macs / 1e9;
}

// `activations`: the source and destination layout, or tag::any for oneDNN's choice.
std::optional<Selection> select_conv(const SelectContext& ctx, std::string& why_not, memory::format_tag activations) {
  if (!conv_supported(ctx, why_not)) return std::nullopt;
  const Shape& x = ctx.input(0).shape;
  const Shape& w = ctx.input(1).shape;
  const Shape& y = ctx.output(0).shape;
  const int64_t group = ctx.node.attrs.get_int("group", 1);
  const ops::WindowParams p =
      ops::window_params(ctx.node.attrs, {x.begin() + 2, x.end()}, {w.begin() + 2, w.end()}, false);
  const bool residual = ctx.has_input(3);

  const memory::desc src_any(onednn_dims(x), memory::data_type::f32, activations);
  const memory::desc dst_any(onednn_dims(y), memory::data_type::f32, activations);
  const memory::desc weights_any(weight_dims(w, group, false), memory::data_type::f32, tag::any);
  const memory::desc bias_md = ctx.has_input(2) ? plain_desc(DType::kFloat32, ctx.input(2).shape) : memory::desc();

  const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                             src_any, weights_any, bias_md, dst_any, dims_minus(p.strides),
                                             dims_minus(p.dilations, 1), dims_minus(p.pads_begin), dims_minus(p.pads_end));
  int binary_index = 0;
  const auto make_pd = [&](Residual how) {
    dnnl::primitive_attr attr = default_attr();
    dnnl::post_ops post_ops;
    append_activation(post_ops, ops::activation_of(ctx.node.attrs));
    if (how == Residual::kSum) post_ops.append_sum(1.0f);
    binary_index = post_ops.len();
    if (how == Residual::kBinaryAdd) post_ops.append_binary(dnnl::algorithm::binary_add, dst_any);
    attr.set_post_ops(post_ops);
    return dnnl::convolution_forward::primitive_desc(desc, attr, cpu_engine());
  };
  // The sum post-op adds in place, into the residual's own buffer. oneDNN's AVX2 convolutions
  // take a sum only as the first post-op, though, and offer only their reference code for
  // activation-then-sum (100x slower on yolov5n); there a binary add reads the residual instead.
  Residual how = residual ? Residual::kSum : Residual::kNone;
  dnnl::convolution_forward::primitive_desc pd = make_pd(how);
  if (residual && is_reference_implementation(pd)) {
    how = Residual::kBinaryAdd;
    pd = make_pd(how);
    if (is_reference_implementation(pd)) {
      why_not = "oneDNN offers only its reference implementation (" + implementation_name(pd) + ") with the residual";
      return std::nullopt;
    }
  }

  std::vector<std::pair<int, memory>> constants;
  constants.emplace_back(DNNL_ARG_WEIGHTS, pack_constant(ctx.constant(1)->data(),
                                                         plain_desc(DType::kFloat32, w).reshape(weight_dims(w, group, false)),
                                                         pd.weights_desc()));
  if (ctx.has_input(2)) constants.emplace_back(DNNL_ARG_BIAS, pack_constant(ctx.constant(2)->data(), bias_md, bias_md));

  std::vector<ArgBinding> inputs = {{DNNL_ARG_SRC, 0, pd.src_desc()}};
  if (how == Residual::kBinaryAdd) inputs.push_back({DNNL_ARG_ATTR_MULTIPLE_POST_OP(binary_index) | DNNL_ARG_SRC_1, 3, pd.dst_desc()});
  auto kernel = std::make_unique<PrimitiveKernel>(dnnl::convolution_forward(pd), pd, inputs,
                                                  std::vector<ArgBinding>{{DNNL_ARG_DST, 0, pd.dst_desc()}},
                                                  std::move(constants));
  Selection s;
  s.input_layouts.assign(ctx.node.inputs.size(), Layout::plain());
  s.input_layouts[0] = layout_of(pd.src_desc(), DType::kFloat32, x);
  const Layout out = layout_of(pd.dst_desc(), DType::kFloat32, y);
  s.output_layouts = {out};
  if (residual) s.input_layouts[3] = out;
  if (how == Residual::kSum) {
    s.accumulates_input = 3;
    kernel->accumulate_into_output(3);
  }
  s.kernel = std::move(kernel);
  s.packed_inputs = {1, 2};
  s.gflop = conv_gflop(ctx);
  return s;
}

}  // namespace

std::optional<Selection> select_onednn_conv(const SelectContext& ctx, std::string& why_not) {
  return select_conv(ctx, why_not, tag::any);
}

std::optional<Selection> select_onednn_conv_nhwc(const SelectContext& ctx, std::string& why_not) {
  if (ctx.input(0).shape.size() != 4) {
    why_not = "not a 2-D conv";
    return std::nullopt;
  }
  return select_conv(ctx, why_not, tag::nhwc);
}

std::optional<Selection> select_onednn_deconv(const SelectContext& ctx, std::string& why_not) {
  if (!conv_supported(ctx, why_not)) return std::nullopt;
  const Shape& x = ctx.input(0).shape;
  const Shape& w = ctx.input(1).shape;
  const Shape& y = ctx.output(0).shape;
  const int64_t group = ctx.node.attrs.get_int("group", 1);
  const ops::WindowParams p =
      ops::transposed_window_params(ctx.node.attrs, {x.begin() + 2, x.end()}, {w.begin() + 2, w.end()});
  // oneDNN has no output_padding: the extra rows come out of the end padding instead.
  memory::dims pads_end;
  for (size_t i = 0; i < p.out.size(); ++i) {
    const int64_t extent = (p.kernel[i] - 1) * p.dilations[i] + 1;
    pads_end.push_back((x[2 + i] - 1) * p.strides[i] + extent - p.pads_begin[i] - p.out[i]);
    if (pads_end.back() < 0) {
      why_not = "output padding beyond the kernel extent";
      return std::nullopt;
    }
  }
  const memory::desc src_any(onednn_dims(x), memory::data_type::f32, tag::any);
  const memory::desc dst_any(onednn_dims(y), memory::data_type::f32, tag::any);
  const memory::desc weights_any(weight_dims(w, group, true), memory::data_type::f32, tag::any);
  const memory::desc bias_md = ctx.has_input(2) ? plain_desc(DType::kFloat32, ctx.input(2).shape) : memory::desc();
  dnnl::deconvolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::deconvolution_direct,
                                         src_any, weights_any, bias_md, dst_any, dims_minus(p.strides), dims_minus(p.dilations, 1),
                                         dims_minus(p.pads_begin), pads_end);
  dnnl::deconvolution_forward::primitive_desc pd(desc, default_attr(), cpu_engine());
  std::vector<std::pair<int, memory>> constants;
  constants.emplace_back(DNNL_ARG_WEIGHTS,
                         pack_constant(ctx.constant(1)->data(), transposed_weight_plain_desc(w, group), pd.weights_desc()));
  if (ctx.has_input(2)) constants.emplace_back(DNNL_ARG_BIAS, pack_constant(ctx.constant(2)->data(), bias_md, bias_md));
  Selection s;
  s.kernel = std::make_unique<PrimitiveKernel>(dnnl::deconvolution_forward(pd), pd,
                                               std::vector<ArgBinding>{{DNNL_ARG_SRC, 0, pd.src_desc()}},
                                               std::vector<ArgBinding>{{DNNL_ARG_DST, 0, pd.dst_desc()}}, std::move(constants));
  s.input_layouts.assign(ctx.node.inputs.size(), Layout::plain());
  s.input_layouts[0] = layout_of(pd.src_desc(), DType::kFloat32, x);
  s.output_layouts = {layout_of(pd.dst_desc(), DType::kFloat32, y)};
  s.packed_inputs = {1, 2};
  s.gflop = conv_gflop(ctx);
  return s;
}

}  // namespace sparrow::kernels
