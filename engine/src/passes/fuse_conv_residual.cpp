#include "passes/passes.h"

namespace sparrow::passes {
namespace {

// The Conv producing `value` if the Add may absorb it: its only reader is the Add, it has no
// residual yet, and it computes exactly the Add's output shape (no broadcasting).
graph::Node* fusable_conv(graph::Graph& g, const std::vector<std::vector<int>>& consumers, int value,
                          const Shape& out_shape) {
  const int producer = g.values[value].producer;
  if (producer < 0) return nullptr;
  graph::Node& conv = g.nodes[producer];
  if (conv.removed || conv.op != "Conv" || conv.attrs.has(ops::kResidualAttr)) return nullptr;
  if (consumers[value].size() != 1 || g.is_output(value)) return nullptr;
  if (g.values[value].shape != out_shape || g.values[value].dtype != DType::kFloat32) return nullptr;
  return &conv;
}

}  // namespace

void fuse_conv_residual(graph::Graph& g) {
  auto consumers = g.consumers();
  for (size_t a = 0; a < g.nodes.size(); ++a) {
    graph::Node& add = g.nodes[a];
    if (add.removed || add.op != "Add" || add.inputs.size() != 2) continue;
    const Shape& out_shape = g.values[add.outputs[0]].shape;
    graph::Node* best = nullptr;
    int residual = -1;
    for (int side = 0; side < 2; ++side) {
      graph::Node* conv = fusable_conv(g, consumers, add.inputs[side], out_shape);
      const int other = add.inputs[1 - side];
      if (!conv || g.values[other].shape != out_shape) continue;
      // The residual must exist before the conv runs: take the conv that comes later.
      if (!best || conv > best) {
        best = conv;
        residual = other;
      }
    }
    if (!best) continue;
    const int other_producer = g.values[residual].producer;
    if (other_producer >= 0 && &g.nodes[other_producer] > best) continue;
    best->inputs.resize(3, graph::kNoValue);
    best->inputs.push_back(residual);
    best->attrs.set(ops::kResidualAttr, int64_t{1});
    best->outputs = add.outputs;
    best->name += "+" + add.name;
    add.removed = true;
  }
  g.compact();
}

}  // namespace sparrow::passes
