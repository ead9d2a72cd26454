// Quantized elementwise regions -> one LookupTable. From a QuantizeLinear, the pass walks back
// through elementwise nodes to the one 8-bit value x the region reads: every value in between is
// then a function of one byte, so the region is a 256-entry table. YOLOv5's quantized SiLU
// (DQ(c) -> Sigmoid -> Q -> DQ, Mul with DQ(c), Q) becomes one lookup and stays u8; a lone
// DQ -> Q between grids (a requantization) becomes one too.
#include <algorithm>
#include <set>

#include "passes/lookup_tables.h"
#include "passes/passes.h"

namespace sparrow::passes {
namespace {

// Bounds the walk (YOLOv5's SiLU region has 6 nodes), so no model makes the pass quadratic.
constexpr size_t kMaxRegionNodes = 32;

// The op registry's elementwise ops. Constants they read must have one element (tabulate).
bool is_elementwise(const std::string& op) {
  static const std::set<std::string> ops = {"QuantizeLinear", "DequantizeLinear", "Cast", "Identity", "Sigmoid", "Relu",
                                            "Silu", "Add", "Sub", "Mul", "Div", "Pow", "Clip", "LeakyRelu",
                                            "HardSigmoid", "HardSwish", "Tanh"};
  return ops.count(op) > 0;
}

bool is_8bit(DType dtype) { return dtype == DType::kUint8 || dtype == DType::kInt8; }

struct Region {
  std::vector<int> nodes;     // in graph order, the root last
  std::vector<int> boundary;  // the non-constant values read from outside
  bool complete = true;       // false: the walk hit kMaxRegionNodes
};

// The elementwise nodes the root reads through, stopping at `leaf` (or only where no elementwise
// node computes a value when leaf is kNoValue), at constants, and at graph outputs.
Region walk_back(const graph::Graph& g, int root, int leaf) {
  Region r;
  std::set<int> seen = {root}, boundary;
  std::vector<int> todo = {root};
  while (!todo.empty()) {
    const graph::Node& node = g.nodes[todo.back()];
    todo.pop_back();
    for (int v : node.inputs) {
      if (v == graph::kNoValue || g.values[v].constant || seen.count(g.values[v].producer)) continue;
      const int producer = g.values[v].producer;
      const bool inside = v != leaf && producer >= 0 && is_elementwise(g.nodes[producer].op) &&
                          g.nodes[producer].outputs.size() == 1 && !g.is_output(v);
      if (!inside) {
        boundary.insert(v);
      } else if (seen.size() < kMaxRegionNodes) {
        seen.insert(producer);
        todo.push_back(producer);
      } else {
        r.complete = false;
      }
    }
  }
  r.nodes.assign(seen.begin(), seen.end());
  r.boundary.assign(boundary.begin(), boundary.end());
  return r;
}

// The 8-bit values a region could be a function of, farthest first: those it stops at, and those
// inside it, where a smaller region might start.
std::vector<int> leaf_candidates(const graph::Graph& g, const Region& widest) {
  std::vector<int> values = widest.boundary;
  for (int n : widest.nodes) {
    for (int v : g.nodes[n].inputs) {
      if (v != graph::kNoValue && !g.values[v].constant) values.push_back(v);
    }
  }
  std::sort(values.begin(), values.end(),
            [&](int a, int b) { return g.values[a].producer != g.values[b].producer ? g.values[a].producer < g.values[b].producer : a < b; });
  values.erase(std::unique(values.begin(), values.end()), values.end());
  values.erase(std::remove_if(values.begin(), values.end(), [&](int v) { return !is_8bit(g.values[v].dtype); }), values.end());
  return values;
}

// Whether the region can become one node: it reads only x, and what it computes besides the
// root's output is read only inside it, with x's shape throughout.
bool replaceable(const graph::Graph& g, const Region& r, int x, const std::vector<std::vector<int>>& consumers) {
  if (!r.complete || r.boundary != std::vector<int>{x}) return false;
  for (int n : r.nodes) {
    const int v = g.nodes[n].outputs[0];
    if (g.values[v].shape != g.values[x].shape) return false;
    if (n == r.nodes.back()) continue;
    if (g.is_output(v)) return false;
    for (int reader : consumers[v]) {
      if (!std::binary_search(r.nodes.begin(), r.nodes.end(), reader)) return false;
    }
  }
  return true;
}

bool is_identity(const Tensor& table) {
  const auto* t = static_cast<const uint8_t*>(table.data());
  for (int i = 0; i < 256; ++i) {
    if (t[i] != i) return false;
  }
  return true;
}

void replace(graph::Graph& g, const Region& r, int x, const Tensor& table) {
  graph::Node& root = g.nodes[r.nodes.back()];
  const int y = root.outputs[0];
  for (int n : r.nodes) g.nodes[n].removed = true;
  // DQ -> Q on x's own grid gives x back: no kernel needed.
  if (is_identity(table) && g.values[x].dtype == g.values[y].dtype && !g.is_output(y)) {
    g.replace_uses(y, x);
    return;
  }
  std::string name;
  for (int n : r.nodes) name += (name.empty() ? "" : "+") + g.nodes[n].name;
  // The root's slot: after x's producer and before every reader of y.
  g.nodes[r.nodes.back()] = lookup_table_node(g, name, x, table, y);
}

// Replaces the largest region that ends at `root` and is a function of one 8-bit value.
bool fuse_region(graph::Graph& g, int root, const std::vector<std::vector<int>>& consumers) {
  for (int x : leaf_candidates(g, walk_back(g, root, graph::kNoValue))) {
    const Region r = walk_back(g, root, x);
    if (!replaceable(g, r, x, consumers)) continue;
    std::vector<graph::Node> nodes;
    for (int n : r.nodes) nodes.push_back(g.nodes[n]);
    if (auto table = tabulate(g, nodes, x, g.nodes[root].outputs[0])) {
      replace(g, r, x, *table);
      return true;
    }
  }
  return false;
}

}  // namespace

void fuse_qdq_lut(graph::Graph& g) {
  auto consumers = g.consumers();
  // Last first, so the last QuantizeLinear of a chain claims the whole chain.
  for (size_t n = g.nodes.size(); n-- > 0;) {
    if (g.nodes[n].removed || g.nodes[n].op != "QuantizeLinear") continue;
    if (fuse_region(g, static_cast<int>(n), consumers)) consumers = g.consumers();
  }
  g.compact();
}

}  // namespace sparrow::passes
