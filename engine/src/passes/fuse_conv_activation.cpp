#include "passes/passes.h"

namespace sparrow::passes {
namespace {

const char* activation_name(const std::string& op) {
  if (op == "Silu") return "silu";
  if (op == "Relu") return "relu";
  if (op == "Sigmoid") return "sigmoid";
  return nullptr;
}

}  // namespace

void fuse_conv_activation(graph::Graph& g) {
  auto consumers = g.consumers();
  for (graph::Node& conv : g.nodes) {
    if (conv.removed || conv.op != "Conv" || conv.attrs.has(ops::kActivationAttr) || conv.attrs.has(ops::kResidualAttr)) continue;
    const int out = conv.outputs[0];
    if (consumers[out].size() != 1 || g.is_output(out)) continue;
    graph::Node& act = g.nodes[consumers[out][0]];
    const char* name = activation_name(act.op);
    if (!name) continue;
    conv.attrs.set(ops::kActivationAttr, std::string(name));
    conv.outputs = act.outputs;
    conv.name += "+" + act.name;
    act.removed = true;
  }
  g.compact();
}

}  // namespace sparrow::passes
