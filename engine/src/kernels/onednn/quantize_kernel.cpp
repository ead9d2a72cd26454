// QuantizeLinear and DequantizeLinear with per-tensor parameters as oneDNN reorders: the edges
// of a quantized region. The reorder scales (by 1 / scale to quantize, by scale to dequantize),
// adds or subtracts the zero point, and rounds half to even with saturation. Quantizing
// multiplies by the reciprocal where ONNX divides, so an exact tie may land one step apart.
#include "kernels/onednn/primitive_kernel.h"
#include "kernels/quantize_params.h"
#include "kernels/selection.h"

namespace sparrow::kernels {
namespace {

using dnnl::memory;

// A reorder from input 0's type to output 0's, scaling by `scale` and applying the zero point on
// the integer side (`zero_arg`: DNNL_ARG_SRC or DNNL_ARG_DST). It keeps the layout the input
// arrives in (the convolutions' NHWC at the edges of a quantized region) where that holds each
// element once, so no reorder of layout surrounds this one of type.
Selection reorder(const SelectContext& ctx, float scale, int32_t zero_point, int zero_arg) {
  const graph::Value& x = ctx.input(0);
  const Layout in = holds_each_element_once(ctx.available[0], x.dtype, x.shape) ? ctx.available[0] : Layout::plain();
  const Layout out = zero_arg == DNNL_ARG_DST && in.is_plain() && feeds_only_int8_convs(ctx)
                         ? nhwc_layout(ctx.output(0).dtype, ctx.output(0).shape)
                         : with_dtype(in, ctx.output(0).dtype, ctx.output(0).shape);
  const memory::desc src = desc_of(in, x.dtype, x.shape);
  const memory::desc dst = desc_of(out, ctx.output(0).dtype, ctx.output(0).shape);
  dnnl::primitive_attr attr = default_attr();
  attr.set_output_scales(0, {scale});
  std::vector<std::pair<int, memory>> constants;
  if (zero_point != 0) {
    attr.set_zero_points(zero_arg, 0, {DNNL_RUNTIME_S32_VAL});
    constants.emplace_back(DNNL_ARG_ATTR_ZERO_POINTS | zero_arg, runtime_zero_point(zero_point));
  }
  dnnl::reorder::primitive_desc pd(cpu_engine(), src, cpu_engine(), dst, attr);
  Selection s;
  s.kernel = std::make_unique<PrimitiveKernel>(dnnl::reorder(pd), pd, std::vector<ArgBinding>{{DNNL_ARG_FROM, 0, src}},
                                               std::vector<ArgBinding>{{DNNL_ARG_TO, 0, dst}}, std::move(constants));
  s.input_layouts.assign(ctx.node.inputs.size(), Layout::plain());
  s.input_layouts[0] = in;
  s.output_layouts = {out};
  s.packed_inputs = {1, 2};
  return s;
}

}  // namespace

std::optional<Selection> select_onednn_quantize(const SelectContext& ctx, std::string& why_not) {
  const auto p = per_tensor_quantize_params(ctx, why_not);
  if (!p) return std::nullopt;
  return reorder(ctx, 1.0f / p->scale, p->zero_point, DNNL_ARG_DST);
}

std::optional<Selection> select_onednn_dequantize(const SelectContext& ctx, std::string& why_not) {
  const auto p = per_tensor_quantize_params(ctx, why_not);
  if (!p) return std::nullopt;
  return reorder(ctx, p->scale, p->zero_point, DNNL_ARG_SRC);
}

}  // namespace sparrow::kernels
