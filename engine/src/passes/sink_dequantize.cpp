#include <algorithm>
#include <map>

#include "passes/passes.h"

namespace sparrow::passes {
namespace {

// The index of the first node that reads any of `node`'s outputs; -1 when none does.
int first_consumer(const graph::Node& node, const std::vector<std::vector<int>>& consumers) {
  int first = -1;
  for (int v : node.outputs) {
    for (int c : consumers[v]) first = first < 0 ? c : std::min(first, c);
  }
  return first;
}

}  // namespace

void sink_dequantize(graph::Graph& g) {
  const std::vector<std::vector<int>> consumers = g.consumers();
  std::map<int, std::vector<int>> before;  // consumer -> the dequantizations to run just before it
  std::vector<bool> moved(g.nodes.size(), false);
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    const graph::Node& node = g.nodes[n];
    if (node.removed || node.op != "DequantizeLinear" || g.values[node.inputs[0]].constant) continue;
    const int first = first_consumer(node, consumers);
    if (first <= static_cast<int>(n) + 1) continue;
    before[first].push_back(static_cast<int>(n));
    moved[n] = true;
  }
  if (before.empty()) return;
  std::vector<graph::Node> order;
  order.reserve(g.nodes.size());
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    if (const auto it = before.find(static_cast<int>(n)); it != before.end()) {
      for (int d : it->second) order.push_back(std::move(g.nodes[d]));
    }
    if (!moved[n]) order.push_back(std::move(g.nodes[n]));
  }
  g.nodes = std::move(order);
  g.compact();
}

}  // namespace sparrow::passes
