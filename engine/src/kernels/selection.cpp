#include "kernels/selection.h"

#include <map>

#include "kernels/reference_kernel.h"

namespace sparrow::kernels {

std::vector<Candidate> candidates_for(const std::string& op) {
  static const std::map<std::string, std::vector<Candidate>> table = {
      {"Conv", {select_onednn_conv}},
      {"ConvTranspose", {select_onednn_deconv}},
      {"MaxPool", {select_onednn_pool}},
      {"Resize", {select_onednn_resample}},
      {"Upsample", {select_onednn_resample}},
      {"Concat", {select_concat_copy, select_onednn_concat}},
      {"Sigmoid", {select_onednn_eltwise}},
      {"Relu", {select_onednn_eltwise}},
      {"Silu", {select_onednn_eltwise}},
      {"Add", {select_onednn_binary}},
      {"Sub", {select_onednn_binary}},
      {"Mul", {select_onednn_binary}},
      {"Div", {select_onednn_binary}},
      {"Pow", {select_onednn_eltwise}},
      {"Transpose", {select_onednn_transpose}},
      {"Slice", {select_onednn_slice}},
      {"Split", {select_onednn_slice}},
      {"Reshape", {select_view}},
      {"Flatten", {select_view}},
      {"Squeeze", {select_view}},
      {"Unsqueeze", {select_view}},
  };
  auto it = table.find(op);
  return it == table.end() ? std::vector<Candidate>{} : it->second;
}

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
