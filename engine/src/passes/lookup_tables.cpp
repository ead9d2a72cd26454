#include "passes/lookup_tables.h"

#include <map>

#include "passes/passes.h"
#include "sparrow/error.h"

namespace sparrow::passes {
namespace {

constexpr int64_t kTableSize = 256;

bool is_8bit(DType dtype) { return dtype == DType::kUint8 || dtype == DType::kInt8; }

// Every byte once, as `dtype` (an s8 x of -1 is the byte 255, as LookupTable indexes it).
Tensor every_byte(DType dtype) {
  Tensor t(dtype, {kTableSize});
  auto* bytes = static_cast<uint8_t*>(t.data());
  for (int64_t i = 0; i < kTableSize; ++i) bytes[i] = static_cast<uint8_t>(i);
  return t;
}

// A graph of the copied nodes with x's bytes as a constant, or nullopt if they read anything
// else that is not a one-element constant. Values keep g's names, which are unique there.
std::optional<graph::Graph> function_of_bytes(const graph::Graph& g, const std::vector<graph::Node>& nodes, int x,
                                              std::map<int, int>& ids) {
  graph::Graph f;
  ids[x] = f.add_constant(g.values[x].name, every_byte(g.values[x].dtype));
  for (graph::Node node : nodes) {
    for (int& v : node.inputs) {
      if (v == graph::kNoValue) continue;
      if (auto it = ids.find(v); it != ids.end()) {
        v = it->second;
        continue;
      }
      const graph::Value& value = g.values[v];
      // Broadcasting a larger constant would give each byte several results.
      if (!value.constant || value.constant->size() != 1) return std::nullopt;
      v = ids[v] = f.add_constant(value.name, *value.constant);
    }
    for (int& v : node.outputs) v = ids[v] = f.add_value(g.values[v].name);
    node.removed = false;
    f.nodes.push_back(std::move(node));
  }
  return f;
}

}  // namespace

std::optional<Tensor> tabulate(const graph::Graph& g, const std::vector<graph::Node>& nodes, int x, int y) {
  if (!is_8bit(g.values[x].dtype)) return std::nullopt;
  std::map<int, int> ids;
  std::optional<graph::Graph> f;
  try {
    f = function_of_bytes(g, nodes, x, ids);
    if (!f || !ids.count(y)) return std::nullopt;
    f->outputs = {ids[y]};
    // Every input is constant, so inference folds every node and y becomes the table.
    infer_and_fold(*f, BatchRewrite{});
  } catch (const Error&) {
    return std::nullopt;
  }
  const graph::Value& table = f->values[ids[y]];
  if (!table.constant || table.constant->size() != kTableSize || !is_8bit(table.dtype)) return std::nullopt;
  return table.constant->reshaped({kTableSize});
}

graph::Node lookup_table_node(graph::Graph& g, const std::string& name, int x, const Tensor& table, int y) {
  graph::Node node;
  node.name = name;
  node.op = "LookupTable";
  node.inputs = {x, g.add_constant(g.unique_name(name + ":table"), table)};
  node.outputs = {y};
  return node;
}

}  // namespace sparrow::passes
