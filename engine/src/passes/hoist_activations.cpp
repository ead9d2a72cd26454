#include <utility>

#include "passes/passes.h"

namespace sparrow::passes {
namespace {

bool moves_data_only(const std::string& op) {
  return op == "Reshape" || op == "Transpose" || op == "Flatten" || op == "Squeeze" || op == "Unsqueeze";
}

bool elementwise_unary(const graph::Node& n) {
  return n.inputs.size() == 1 && (n.op == "Sigmoid" || n.op == "Relu" || n.op == "Silu" || n.op == "Tanh");
}

// a -P-> b -U-> c becomes a -U-> b -P-> c, b now shaped as a. True when it moved.
bool hoist_once(graph::Graph& g, const std::vector<std::vector<int>>& consumers, int u) {
  graph::Node& act = g.nodes[u];
  const int b = act.inputs[0];
  const int p = g.values[b].producer;
  if (p < 0 || !moves_data_only(g.nodes[p].op) || g.nodes[p].removed) return false;
  graph::Node& move = g.nodes[p];
  const int a = move.inputs[0];
  if (consumers[b].size() != 1 || g.is_output(b) || consumers[a].size() != 1 || g.is_output(a)) return false;
  if (g.values[a].dtype != g.values[b].dtype || g.values[a].quant || g.values[b].quant) return false;
  const int c = act.outputs[0];
  g.values[b].shape = g.values[a].shape;
  act.inputs[0] = a;
  act.outputs[0] = b;
  move.inputs[0] = b;
  move.outputs[0] = c;
  std::swap(g.nodes[p], g.nodes[u]);  // keeps the order topological: the activation now runs first
  g.values[b].producer = p;
  g.values[c].producer = u;
  return true;
}

}  // namespace

void hoist_activations(graph::Graph& g) {
  for (bool moved = true; moved;) {
    moved = false;
    const auto consumers = g.consumers();
    for (size_t i = 0; i < g.nodes.size() && !moved; ++i) {
      if (!g.nodes[i].removed && elementwise_unary(g.nodes[i])) moved = hoist_once(g, consumers, static_cast<int>(i));
    }
  }
}

}  // namespace sparrow::passes
