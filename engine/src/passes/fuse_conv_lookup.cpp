// QLinearConv -> LookupTable (YOLOv5's quantized SiLU after every conv) -> one QLinearConv that
// maps its output bytes through the table as they are written: the activation then costs no
// pass of its own over memory. The conv's u8 result must have no other reader.
#include "ops/fused_attrs.h"
#include "passes/passes.h"

namespace sparrow::passes {
namespace {

// The QLinearConv producing `value` if the LookupTable reading it may absorb it.
graph::Node* fusable_conv(graph::Graph& g, const std::vector<std::vector<int>>& consumers, int value) {
  const int producer = g.values[value].producer;
  if (producer < 0) return nullptr;
  graph::Node& conv = g.nodes[producer];
  if (conv.removed || conv.op != "QLinearConv" || conv.attrs.has(ops::kTableAttr)) return nullptr;
  if (consumers[value].size() != 1 || g.is_output(value)) return nullptr;
  return &conv;
}

}  // namespace

void fuse_conv_lookup(graph::Graph& g) {
  const auto consumers = g.consumers();
  for (graph::Node& lookup : g.nodes) {
    if (lookup.removed || lookup.op != "LookupTable" || lookup.inputs.size() != 2) continue;
    const graph::Value& table = g.values[lookup.inputs[1]];
    if (!table.constant || table.dtype != g.values[lookup.inputs[0]].dtype) continue;
    graph::Node* conv = fusable_conv(g, consumers, lookup.inputs[0]);
    if (!conv) continue;
    conv->inputs.resize(ops::kTableInput, graph::kNoValue);
    conv->inputs.push_back(lookup.inputs[1]);
    conv->attrs.set(ops::kTableAttr, int64_t{1});
    conv->outputs = lookup.outputs;
    conv->name += "+" + lookup.name;
    lookup.removed = true;
  }
  g.compact();
}

}  // namespace sparrow::passes
