#include "passes/passes.h"

namespace sparrow::passes {

void fuse_silu(graph::Graph& g) {
  auto consumers = g.consumers();
  for (graph::Node& mul : g.nodes) {
    if (mul.removed || mul.op != "Mul" || mul.inputs.size() != 2) continue;
    for (int side = 0; side < 2; ++side) {
      const int gate = mul.inputs[side];
      const int x = mul.inputs[1 - side];
      const int producer = g.values[gate].producer;
      if (producer < 0) continue;
      graph::Node& sigmoid = g.nodes[producer];
      if (sigmoid.removed || sigmoid.op != "Sigmoid" || sigmoid.inputs[0] != x) continue;
      if (consumers[gate].size() != 1 || g.is_output(gate)) continue;
      sigmoid.removed = true;
      mul.op = "Silu";
      mul.inputs = {x};
      break;
    }
  }
  g.compact();
}

}  // namespace sparrow::passes
