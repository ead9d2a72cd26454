#include "graph/quant_params.h"

#include <algorithm>

#include "graph/graph.h"

namespace sparrow::graph {

bool QuantParams::symmetric() const {
  return std::all_of(zero_points.begin(), zero_points.end(), [](int32_t z) { return z == 0; });
}

std::optional<QuantParams> qdq_params(const Graph& g, const Node& node) {
  const bool quantize = node.op == "QuantizeLinear";
  if (!quantize && node.op != "DequantizeLinear") return std::nullopt;
  if (!node.has_input(1) || !g.values[node.inputs[1]].constant) return std::nullopt;
  const Tensor& scale = *g.values[node.inputs[1]].constant;
  QuantParams p;
  const float* s = scale.data_as<float>();
  p.scales.assign(s, s + scale.size());
  if (node.has_input(2)) {
    const Value& zp = g.values[node.inputs[2]];
    if (!zp.constant) return std::nullopt;
    p.dtype = zp.dtype;
    const std::vector<int64_t> z = zp.constant->to_int64_vector();
    p.zero_points.assign(z.begin(), z.end());
  } else {
    p.dtype = quantize ? DType::kUint8 : g.values[node.inputs[0]].dtype;
    p.zero_points.assign(p.scales.size(), 0);
  }
  if (p.scales.size() > 1) {
    const Shape& data = g.values[node.inputs[0]].shape;
    const int64_t axis = node.attrs.get_int("axis", 1);
    p.axis = axis < 0 ? axis + static_cast<int64_t>(data.size()) : axis;
  }
  return p;
}

}  // namespace sparrow::graph
