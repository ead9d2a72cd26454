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

std::optional<Selection> select_view(const SelectContext& ctx, std::string&) {
  Selection s;
  s.view_of_input0 = true;
  s.input_layouts.assign(ctx.node.inputs.size(), Layout::plain());
  s.output_layouts = {Layout::plain()};
  return s;
}

}  // namespace sparrow::kernels
