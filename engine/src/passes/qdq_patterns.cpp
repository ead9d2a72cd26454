#include "passes/qdq_patterns.h"

namespace sparrow::passes {

const graph::Node* u8_dequantize_of(const graph::Graph& g, int value) {
  const graph::Value& v = g.values[value];
  if (v.producer < 0 || !v.quant || !v.quant->per_tensor() || v.quant->dtype != DType::kUint8) return nullptr;
  const graph::Node& dq = g.nodes[v.producer];
  return dq.op == "DequantizeLinear" ? &dq : nullptr;
}

graph::Node* sole_quantize_of(graph::Graph& g, const std::vector<std::vector<int>>& consumers, int value,
                              graph::QuantParams* grid) {
  if (consumers[value].size() != 1 || g.is_output(value)) return nullptr;
  graph::Node& q = g.nodes[consumers[value][0]];
  if (q.op != "QuantizeLinear") return nullptr;
  const auto params = graph::qdq_params(g, q);
  if (!params || !params->per_tensor()) return nullptr;
  *grid = *params;
  return &q;
}

}  // namespace sparrow::passes
