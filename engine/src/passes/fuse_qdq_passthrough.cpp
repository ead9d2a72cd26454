#include "passes/passes.h"
#include "passes/qdq_patterns.h"

namespace sparrow::passes {
namespace {

bool same_grid(const graph::QuantParams& a, const graph::QuantParams& b) {
  return a.dtype == b.dtype && a.scales == b.scales && a.zero_points == b.zero_points;
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
    graph::QuantParams grid;
    graph::Node* q = sole_quantize_of(g, consumers, node.outputs[0], &grid);
    if (!q) continue;
    std::vector<int> integers;
    for (size_t i : data_inputs(node)) {
      const graph::Node* dq = u8_dequantize_of(g, node.inputs[i]);
      if (!dq || !same_grid(*g.values[node.inputs[i]].quant, grid)) break;
      integers.push_back(dq->inputs[0]);
    }
    if (integers.size() != data_inputs(node).size()) continue;
    for (size_t k = 0; k < integers.size(); ++k) node.inputs[data_inputs(node)[k]] = integers[k];
    node.outputs = q->outputs;
    node.name += "+" + q->name;
    q->removed = true;
  }
  g.compact();
}

}  // namespace sparrow::passes
