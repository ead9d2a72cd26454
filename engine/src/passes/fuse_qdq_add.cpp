#include "passes/passes.h"
#include "passes/qdq_patterns.h"

namespace sparrow::passes {
namespace {

// A constant zero point of the node's grid: its own input, or a new u8 zero when it has none.
int zero_point_input(graph::Graph& g, const graph::Node& qdq) {
  if (qdq.has_input(2)) return qdq.inputs[2];
  return g.add_constant(g.unique_name(qdq.name + ":zero_point"), Tensor::scalar<uint8_t>(uint8_t{0}));
}

}  // namespace

void fuse_qdq_add(graph::Graph& g) {
  const auto consumers = g.consumers();
  struct Match {
    graph::Node *add, *q;
    const graph::Node *a, *b;
  };
  std::vector<Match> matches;
  for (graph::Node& add : g.nodes) {
    if (add.removed || add.op != "Add" || add.inputs.size() != 2) continue;
    const graph::Node* a = u8_dequantize_of(g, add.inputs[0]);
    const graph::Node* b = u8_dequantize_of(g, add.inputs[1]);
    if (!a || !b || g.values[add.inputs[0]].shape != g.values[add.inputs[1]].shape) continue;
    graph::QuantParams grid;
    graph::Node* q = sole_quantize_of(g, consumers, add.outputs[0], &grid);
    if (!q || grid.dtype != DType::kUint8) continue;
    matches.push_back({&add, q, a, b});
  }
  // add_constant grows g.values: rewrite after matching, holding no Value references.
  for (const Match& m : matches) {
    m.add->inputs = {m.a->inputs[0], m.a->inputs[1], zero_point_input(g, *m.a), m.b->inputs[0], m.b->inputs[1],
                     zero_point_input(g, *m.b), m.q->inputs[1], zero_point_input(g, *m.q)};
    m.add->op = "QLinearAdd";
    m.add->outputs = m.q->outputs;
    m.add->name += "+" + m.q->name;
    m.q->removed = true;
  }
  g.compact();
}

}  // namespace sparrow::passes
