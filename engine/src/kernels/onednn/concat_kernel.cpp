// Concat through oneDNN, keeping its inputs' layouts (channel concat of nChw16c stays blocked).
#include "kernels/onednn/primitive_kernel.h"
#include "kernels/selection.h"
#include "ops/op_registry.h"

namespace sparrow::kernels {

std::optional<Selection> select_onednn_concat(const SelectContext& ctx, std::string& why_not) {
  const graph::Value& y = ctx.output(0);
  if (!onednn_supports(y.dtype) || y.shape.empty() || num_elements(y.shape) == 0) {
    why_not = "dtype or shape not supported by oneDNN concat";
    return std::nullopt;
  }
  std::vector<dnnl::memory::desc> srcs;
  std::vector<ArgBinding> inputs;
  for (size_t i = 0; i < ctx.node.inputs.size(); ++i) {
    if (num_elements(ctx.input(i).shape) == 0) {
      why_not = "an input is empty";
      return std::nullopt;
    }
    srcs.push_back(desc_of(ctx.available[i], y.dtype, ctx.input(i).shape));
    inputs.push_back({DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i), static_cast<int>(i), srcs.back()});
  }
  const int axis = static_cast<int>(ops::normalize_axis(ctx.node.attrs.get_int("axis", 0), static_cast<int64_t>(y.shape.size())));
  dnnl::concat::primitive_desc pd(axis, srcs, cpu_engine(), default_attr());
  Selection s;
  s.kernel = std::make_unique<PrimitiveKernel>(dnnl::concat(pd), pd, inputs,
                                               std::vector<ArgBinding>{{DNNL_ARG_DST, 0, pd.dst_desc()}});
  s.input_layouts = ctx.available;
  s.output_layouts = {layout_of(pd.dst_desc(), y.dtype, y.shape)};
  return s;
}

}  // namespace sparrow::kernels
