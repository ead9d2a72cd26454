#include "kernels/selection.h"

#include "kernels/reference_kernel.h"

namespace sparrow::kernels {

Selection select_reference(const SelectContext& ctx) {
  Selection s;
  s.kernel = make_reference_kernel(ctx.graph, ctx.node);
  s.input_layouts.assign(ctx.node.inputs.size(), Layout::plain());
  s.output_layouts.assign(ctx.node.outputs.size(), Layout::plain());
  return s;
}

// A strided input (a conv's NHWC output) keeps its memory where the new shape can be read as
// strides over it: YOLOv5's Detect reshapes [1, 255, H, W] to [1, 3, 85, H, W], and the transpose
// after it then reads the conv's output directly instead of a plain copy of it.
std::optional<Selection> select_view(const SelectContext& ctx, std::string&) {
  Selection s;
  s.view_of_input0 = true;
  s.input_layouts.assign(ctx.node.inputs.size(), Layout::plain());
  s.output_layouts = {Layout::plain()};
  const std::optional<Layout> strided =
      reshaped_layout(ctx.available[0], ctx.input(0).dtype, ctx.input(0).shape, ctx.output(0).shape);
  if (strided && onednn_supports(ctx.input(0).dtype)) {
    s.input_layouts[0] = ctx.available[0];
    s.output_layouts[0] = *strided;
  }
  return s;
}

}  // namespace sparrow::kernels
