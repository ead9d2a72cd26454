#include "kernels/quantize_params.h"

#include <algorithm>
#include <vector>

namespace sparrow::kernels {

std::optional<QuantizeParams> per_tensor_quantize_params(const SelectContext& ctx, std::string& why_not) {
  const Tensor* scale = ctx.constant(1);
  const Tensor* zero = ctx.has_input(2) ? ctx.constant(2) : nullptr;
  if (!scale || (ctx.has_input(2) && !zero)) {
    why_not = "scale or zero point computed at run time";
    return std::nullopt;
  }
  if (scale->size() != 1) {
    why_not = "per-channel parameters";
    return std::nullopt;
  }
  if (num_elements(ctx.input(0).shape) == 0) {
    why_not = "empty tensor";
    return std::nullopt;
  }
  return QuantizeParams{scale->data_as<float>()[0], zero ? static_cast<int32_t>(zero->to_int64_vector()[0]) : 0};
}

bool feeds_only_int8_convs(const SelectContext& ctx) {
  const int y = ctx.node.outputs[0];
  if (ctx.output(0).shape.size() != 4) return false;
  for (int o : ctx.graph.outputs) {
    if (o == y) return false;
  }
  const std::vector<int> readers = ctx.graph.consumers()[static_cast<size_t>(y)];
  return !readers.empty() && std::all_of(readers.begin(), readers.end(), [&](int n) {
    return ctx.graph.nodes[static_cast<size_t>(n)].op == "QLinearConv";
  });
}

}  // namespace sparrow::kernels
