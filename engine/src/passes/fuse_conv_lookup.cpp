// QLinearConv -> LookupTable (YOLOv5's quantized SiLU after every conv) -> one QLinearConv that
// maps its output bytes through the table as they are written: the activation then costs no
// pass of its own over memory. The conv's u8 result must have no other reader. A second table
// after one already absorbed (the requantization onto a Concat's grid after the SiLU) composes
// with it: measured on pruned INT8 yolov5s, the 19 such passes took 3 % of the inference.
#include <cstdint>

#include "ops/fused_attrs.h"
#include "passes/passes.h"

namespace sparrow::passes {
namespace {

// The QLinearConv producing `value` if the LookupTable reading it may absorb it.
graph::Node* fusable_conv(graph::Graph& g, const std::vector<std::vector<int>>& consumers, int value) {
  const int producer = g.values[value].producer;
  if (producer < 0) return nullptr;
  graph::Node& conv = g.nodes[producer];
  // A fused add comes after the table: a table after it is not the conv's.
  if (conv.removed || conv.op != "QLinearConv" || conv.attrs.has(ops::kAddAttr)) return nullptr;
  if (consumers[value].size() != 1 || g.is_output(value)) return nullptr;
  return &conv;
}

// A new constant: the table of `lookup` applied after the table `conv` already has.
int composed_table(graph::Graph& g, const graph::Node& conv, const graph::Node& lookup) {
  const Tensor& first = *g.values[conv.inputs[ops::kTableInput]].constant;
  const Tensor& second = *g.values[lookup.inputs[1]].constant;
  Tensor table(second.dtype(), second.shape());
  const auto* index = static_cast<const uint8_t*>(first.data());
  const auto* from = static_cast<const uint8_t*>(second.data());
  auto* to = static_cast<uint8_t*>(table.data());
  for (int64_t i = 0; i < first.size(); ++i) to[i] = from[index[i]];
  return g.add_constant(lookup.name + ":composed", std::move(table));
}

// One round over the tables, in the order of g.nodes, which need not be the order of the graph:
// whether any fused.
bool fuse_round(graph::Graph& g) {
  const auto consumers = g.consumers();
  bool fused = false;
  for (graph::Node& lookup : g.nodes) {
    if (lookup.removed || lookup.op != "LookupTable" || lookup.inputs.size() != 2) continue;
    const graph::Value& table = g.values[lookup.inputs[1]];
    if (!table.constant || table.dtype != g.values[lookup.inputs[0]].dtype) continue;
    graph::Node* conv = fusable_conv(g, consumers, lookup.inputs[0]);
    if (!conv) continue;
    if (conv->attrs.has(ops::kTableAttr)) {
      conv->inputs[ops::kTableInput] = composed_table(g, *conv, lookup);
    } else {
      conv->inputs.resize(ops::kTableInput, graph::kNoValue);
      conv->inputs.push_back(lookup.inputs[1]);
      conv->attrs.set(ops::kTableAttr, int64_t{1});
    }
    conv->outputs = lookup.outputs;
    conv->name += "+" + lookup.name;
    lookup.removed = true;
    fused = true;
  }
  g.compact();
  return fused;
}

}  // namespace

void fuse_conv_lookup(graph::Graph& g) {
  while (fuse_round(g)) {
  }
}

}  // namespace sparrow::passes
