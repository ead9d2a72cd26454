// Nearest Resize / Upsample through oneDNN resampling, where its index rule matches ONNX's.
#include "kernels/onednn/primitive_kernel.h"
#include "kernels/selection.h"
#include "ops/resize_params.h"

namespace sparrow::kernels {
namespace {

// Reads the node's constant scales or sizes the way its op version places them.
bool constant_resize_args(const SelectContext& ctx, std::vector<float>& scales, std::vector<int64_t>& sizes) {
  const bool upsample = ctx.node.op == "Upsample";
  if (upsample && ctx.node.opset < 9) {
    scales = ctx.node.attrs.get_floats("scales");
    return true;
  }
  const size_t scales_at = upsample || ctx.node.opset < 11 ? 1 : 2;
  for (size_t i = 1; i < ctx.node.inputs.size(); ++i) {
    if (ctx.has_input(i) && !ctx.constant(i)) return false;
  }
  if (const Tensor* t = ctx.constant(scales_at); t && t->size() > 0) {
    scales.assign(t->data_as<float>(), t->data_as<float>() + t->size());
  }
  if (const Tensor* t = ctx.constant(3); t && !upsample && ctx.node.opset >= 11) sizes = t->to_int64_vector();
  return true;
}

}  // namespace

std::optional<Selection> select_onednn_resample(const SelectContext& ctx, std::string& why_not) {
  const graph::Value& x = ctx.input(0);
  const Shape& y = ctx.output(0).shape;
  if ((x.dtype != DType::kFloat32 && x.dtype != DType::kUint8) || x.shape.size() < 3 || x.shape.size() > 5) {
    why_not = "needs a float32 or uint8 tensor with 1 to 3 spatial dims";
    return std::nullopt;
  }
  std::vector<float> scales;
  std::vector<int64_t> sizes;
  if (!constant_resize_args(ctx, scales, sizes)) {
    why_not = "scales or sizes are computed at run time";
    return std::nullopt;
  }
  const ops::NearestResize r = ops::nearest_resize(ctx.node, x.shape, scales, sizes);
  // oneDNN maps output o to input floor(o / k) for an integer upscale k; accept only that rule.
  for (size_t d = 0; d < x.shape.size(); ++d) {
    const int64_t k = y[d] / x.shape[d];
    const bool integer_scale = y[d] % x.shape[d] == 0 && (d >= 2 || k == 1);
    for (int64_t o = 0; integer_scale && o < y[d]; ++o) {
      if (r.source[d][o] != o / k) {
        why_not = "ONNX's index rule differs from oneDNN's on dim " + std::to_string(d);
        return std::nullopt;
      }
    }
    if (!integer_scale) {
      why_not = "not an integer upscale of the spatial dims";
      return std::nullopt;
    }
  }
  const dnnl::memory::desc src = desc_of(ctx.available[0], x.dtype, x.shape);
  const dnnl::memory::desc dst(onednn_dims(y), onednn_dtype(x.dtype), dnnl::memory::format_tag::any);
  dnnl::resampling_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::resampling_nearest, src, dst);
  dnnl::resampling_forward::primitive_desc pd(desc, default_attr(), cpu_engine());
  Selection s;
  s.kernel = std::make_unique<PrimitiveKernel>(dnnl::resampling_forward(pd), pd,
                                               std::vector<ArgBinding>{{DNNL_ARG_SRC, 0, pd.src_desc()}},
                                               std::vector<ArgBinding>{{DNNL_ARG_DST, 0, pd.dst_desc()}});
  s.input_layouts.assign(ctx.node.inputs.size(), Layout::plain());
  s.input_layouts[0] = ctx.available[0];
  s.output_layouts = {layout_of(pd.dst_desc(), x.dtype, y)};
  return s;
}

}  // namespace sparrow::kernels
