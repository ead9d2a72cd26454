#include "passes/passes.h"

namespace sparrow::passes {

void eliminate_dead_nodes(graph::Graph& g) {
  std::vector<bool> live(g.values.size(), false);
  for (int v : g.outputs) live[v] = true;
  for (size_t n = g.nodes.size(); n-- > 0;) {
    graph::Node& node = g.nodes[n];
    if (node.removed) continue;
    bool used = false;
    for (int v : node.outputs) used = used || live[v];
    if (!used) {
      node.removed = true;
      continue;
    }
    for (int v : node.inputs) {
      if (v != graph::kNoValue) live[v] = true;
    }
  }
  g.compact();
}

}  // namespace sparrow::passes
