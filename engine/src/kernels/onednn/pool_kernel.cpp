// MaxPool through oneDNN pooling, in whatever layout its input already has.
#include "kernels/onednn/primitive_kernel.h"
#include "kernels/selection.h"
#include "ops/window_params.h"

namespace sparrow::kernels {

std::optional<Selection> select_onednn_pool(const SelectContext& ctx, std::string& why_not) {
  const graph::Value& x = ctx.input(0);
  if (x.dtype != DType::kFloat32 && x.dtype != DType::kUint8) {
    why_not = "dtype is not float32 or uint8";
    return std::nullopt;
  }
  if (num_elements(ctx.output(0).shape) == 0) {
    why_not = "empty output";
    return std::nullopt;
  }
  const Shape& y = ctx.output(0).shape;
  const std::vector<int64_t> spatial(x.shape.begin() + 2, x.shape.end());
  const ops::WindowParams p = ops::window_params(ctx.node.attrs, spatial, ctx.node.attrs.get_ints("kernel_shape"),
                                                 ctx.node.attrs.get_int("ceil_mode", 0) != 0);
  dnnl::memory::dims strides, kernel, dilation, pads_begin, pads_end;
  for (size_t i = 0; i < spatial.size(); ++i) {
    const int64_t extent = (p.kernel[i] - 1) * p.dilations[i] + 1;
    strides.push_back(p.strides[i]);
    kernel.push_back(p.kernel[i]);
    dilation.push_back(p.dilations[i] - 1);
    pads_begin.push_back(p.pads_begin[i]);
    // ceil_mode's extra window is expressed as more end padding (padding never wins a max).
    pads_end.push_back(std::max(p.pads_end[i], (p.out[i] - 1) * p.strides[i] + extent - spatial[i] - p.pads_begin[i]));
  }
  const dnnl::memory::desc src = desc_of(ctx.available[0], x.dtype, x.shape);
  const dnnl::memory::desc dst(onednn_dims(y), onednn_dtype(x.dtype), dnnl::memory::format_tag::any);
  dnnl::pooling_v2_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::pooling_max, src, dst,
                                      strides, kernel, dilation, pads_begin, pads_end);
  dnnl::pooling_v2_forward::primitive_desc pd(desc, default_attr(), cpu_engine());
  Selection s;
  s.kernel = std::make_unique<PrimitiveKernel>(dnnl::pooling_v2_forward(pd), pd,
                                               std::vector<ArgBinding>{{DNNL_ARG_SRC, 0, pd.src_desc()}},
                                               std::vector<ArgBinding>{{DNNL_ARG_DST, 0, pd.dst_desc()}});
  s.input_layouts = {ctx.available[0]};
  s.output_layouts = {layout_of(pd.dst_desc(), x.dtype, y)};
  return s;
}

}  // namespace sparrow::kernels
