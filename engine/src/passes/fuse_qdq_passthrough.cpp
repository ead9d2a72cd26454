#include "passes/passes.h"

namespace sparrow::passes {
namespace {

bool same_grid(const graph::QuantParams& a, const graph::QuantParams& b) {
  return a.per_tensor() && b.per_tensor() && a.dtype == DType::kUint8 && b.dtype == DType::kUint8 && a.scales == b.scales &&
         a.zero_points == b.zero_points;
}

// The inputs that carry data (the rest are constants such as Resize's scales).
std::vector<size_t> data_inputs(const graph::Node& node) {
  if (node.op == "Concat") {
    std::vector<size_t> all(node.inputs.size());
    for (size_t i = 0; i < all.size(); ++i) all[i] = i;
    return all;
  }
  return {0};
}

bool moves_values_only(const std::string& op) {
  return op == "MaxPool" || op == "Resize" || op == "Upsample" || op == "Concat";
}

}  // namespace

void fuse_qdq_passthrough(graph::Graph& g) {
  const auto consumers = g.consumers();
  for (graph::Node& node : g.nodes) {
    if (node.removed || !moves_values_only(node.op) || node.outputs.size() != 1) continue;
    const int out = node.outputs[0];
    if (consumers[out].size() != 1 || g.is_output(out)) continue;
    graph::Node& q = g.nodes[consumers[out][0]];
    const auto grid = graph::qdq_params(g, q);
    if (q.op != "QuantizeLinear" || !grid) continue;
    std::vector<int> integers;
    for (size_t i : data_inputs(node)) {
      const graph::Value& v = g.values[node.inputs[i]];
      const graph::Node* dq = v.producer >= 0 ? &g.nodes[v.producer] : nullptr;
      if (!dq || dq->op != "DequantizeLinear" || !v.quant || !same_grid(*v.quant, *grid)) break;
      integers.push_back(dq->inputs[0]);
    }
    if (integers.size() != data_inputs(node).size()) continue;
    for (size_t k = 0; k < integers.size(); ++k) node.inputs[data_inputs(node)[k]] = integers[k];
    node.outputs = q.outputs;
    node.name += "+" + q.name;
    q.removed = true;
  }
  g.compact();
}

}  // namespace sparrow::passes
