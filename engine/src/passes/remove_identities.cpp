#include "passes/passes.h"

namespace sparrow::passes {

void remove_identities(graph::Graph& g) {
  for (graph::Node& node : g.nodes) {
    if (node.removed || node.op != "Identity") continue;
    // A graph output must keep its own value; the runtime copies it there.
    if (g.is_output(node.outputs[0])) continue;
    g.replace_uses(node.outputs[0], node.inputs[0]);
    node.removed = true;
  }
  g.compact();
}

}  // namespace sparrow::passes
