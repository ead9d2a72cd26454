#include <algorithm>
#include <bit>
#include <map>
#include <tuple>

#include "passes/lookup_tables.h"
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

// Concat inputs on other u8 grids than its output's are requantized to it, each by one
// LookupTable inserted before the first Concat that needs it: Concat only moves values, so
// Q(Concat(DQ(x), ...)) is Concat(Q(DQ(x)), ...), and Q(DQ(x)) is a function of x's byte.
class Requantizer {
 public:
  explicit Requantizer(graph::Graph& g) : g_(g) {}

  // The value holding x (u8, dequantized by `dq`) on the grid that `q` quantizes to, made by a
  // node to be inserted before node `reader`; kNoValue when that map cannot be tabulated.
  int requantized(const graph::Node& dq, const graph::Node& q, const graph::QuantParams& grid, int reader) {
    const int x = dq.inputs[0];
    // The scale's bits: a NaN scale must not match every other.
    const auto key = std::make_tuple(x, std::bit_cast<uint32_t>(grid.scales[0]), grid.zero_points[0]);
    if (auto it = done_.find(key); it != done_.end()) return it->second;
    graph::Node to_grid = q;
    to_grid.inputs[0] = dq.outputs[0];
    const std::optional<Tensor> table = tabulate(g_, {dq, to_grid}, x, q.outputs[0]);
    if (!table) return graph::kNoValue;
    const std::string name = g_.unique_name(g_.values[x].name + ":requantized");
    const int y = g_.add_value(name);
    g_.values[y].dtype = DType::kUint8;
    g_.values[y].shape = g_.values[x].shape;
    g_.values[y].typed = true;
    inserted_.emplace_back(reader, lookup_table_node(g_, name, x, *table, y));
    return done_[key] = y;
  }

  // Puts the new nodes in place, each just before its first reader.
  void insert() {
    std::vector<graph::Node> nodes;
    size_t next = 0;
    for (size_t n = 0; n < g_.nodes.size(); ++n) {
      for (; next < inserted_.size() && inserted_[next].first == static_cast<int>(n); ++next) {
        nodes.push_back(std::move(inserted_[next].second));
      }
      nodes.push_back(std::move(g_.nodes[n]));
    }
    g_.nodes = std::move(nodes);
  }

 private:
  graph::Graph& g_;
  std::map<std::tuple<int, uint32_t, int32_t>, int> done_;
  std::vector<std::pair<int, graph::Node>> inserted_;  // (index of the first reader, node), in graph order
};

// The DequantizeLinear of each data input, or an empty list when an input has none, or is on
// another grid than `grid` where the node cannot requantize it.
std::vector<const graph::Node*> dequantized_inputs(const graph::Graph& g, const graph::Node& node, const graph::QuantParams& grid) {
  std::vector<const graph::Node*> dqs;
  for (size_t i : data_inputs(node)) {
    const graph::Node* dq = u8_dequantize_of(g, node.inputs[i]);
    if (!dq) return {};
    const bool requantizable = node.op == "Concat" && grid.dtype == DType::kUint8;
    if (!same_grid(*g.values[node.inputs[i]].quant, grid) && !requantizable) return {};
    dqs.push_back(dq);
  }
  return dqs;
}

}  // namespace

void fuse_qdq_passthrough(graph::Graph& g) {
  const auto consumers = g.consumers();
  Requantizer requantizer(g);
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    graph::Node& node = g.nodes[n];
    if (node.removed || !moves_values_only(node.op) || node.outputs.size() != 1) continue;
    graph::QuantParams grid;
    graph::Node* q = sole_quantize_of(g, consumers, node.outputs[0], &grid);
    if (!q) continue;
    const std::vector<const graph::Node*> dqs = dequantized_inputs(g, node, grid);
    if (dqs.empty()) continue;
    std::vector<int> integers;
    for (const graph::Node* dq : dqs) {
      const bool same = same_grid(*g.values[dq->outputs[0]].quant, grid);
      integers.push_back(same ? dq->inputs[0] : requantizer.requantized(*dq, *q, grid, static_cast<int>(n)));
    }
    if (std::count(integers.begin(), integers.end(), graph::kNoValue)) continue;
    for (size_t k = 0; k < integers.size(); ++k) node.inputs[data_inputs(node)[k]] = integers[k];
    node.outputs = q->outputs;
    node.name += "+" + q->name;
    q->removed = true;
  }
  requantizer.insert();
  g.compact();
}

}  // namespace sparrow::passes
