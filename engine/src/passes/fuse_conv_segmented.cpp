// Conv (1x1, stride 1) -> [Reshape] -> SegmentedElementwise -> one ConvSegmented
// (ops/conv_segmented.h): YOLOv5's Detect convs and their decode.
#include "ops/conv_segmented.h"
#include "ops/fused_attrs.h"
#include "passes/passes.h"

namespace sparrow::passes {
namespace {

// Whether `conv` computes each output pixel from its input pixel alone, with float results: what
// lets a kernel run it band by band of pixels.
bool pointwise_float_conv(const graph::Graph& g, const graph::Node& conv) {
  const bool qlinear = conv.op == "QLinearConv";
  if (conv.op != "Conv" && !qlinear) return false;
  if (qlinear && (conv.attrs.get_int(ops::kFloatOutputAttr, 0) == 0 || conv.attrs.has(ops::kTableAttr))) return false;
  if (conv.attrs.has(ops::kResidualAttr) || g.values[conv.outputs[0]].dtype != DType::kFloat32) return false;
  const size_t w = qlinear ? 3 : 1;
  return conv.has_input(w) && g.values[conv.inputs[w]].constant && ops::pointwise_conv(conv.attrs, g.values[conv.inputs[w]].shape);
}

// The node producing `value` when `value` has one reader and is not a graph output.
graph::Node* sole_producer(graph::Graph& g, const std::vector<std::vector<int>>& consumers, int value) {
  const int producer = g.values[value].producer;
  if (producer < 0 || g.is_output(value) || consumers[value].size() != 1) return nullptr;
  return g.nodes[producer].removed ? nullptr : &g.nodes[producer];
}

void fuse(graph::Graph& g, graph::Node& segments, graph::Node& conv, graph::Node* reshape) {
  const Shape view = g.values[segments.inputs[0]].shape;
  graph::Attributes attrs = conv.attrs;
  for (const char* name : {"segments", "step_segment", "step_op", "step_constant_first"}) {
    attrs.set(name, segments.attrs.get_ints(name));
  }
  if (segments.attrs.has("from_axis")) attrs.set("from_axis", segments.attrs.get_int("from_axis", -1));
  attrs.set(ops::kConvOpAttr, conv.op);
  attrs.set(ops::kConvInputsAttr, static_cast<int64_t>(conv.inputs.size()));
  attrs.set(ops::kViewAttr, view);
  std::vector<int> inputs = conv.inputs;
  inputs.insert(inputs.end(), segments.inputs.begin() + 1, segments.inputs.end());
  segments.name = conv.name + "+" + segments.name;
  segments.op = "ConvSegmented";
  segments.attrs = std::move(attrs);
  segments.inputs = std::move(inputs);
  conv.removed = true;
  if (reshape) reshape->removed = true;
}

}  // namespace

void fuse_conv_segmented(graph::Graph& g) {
  const auto consumers = g.consumers();
  bool changed = false;
  for (graph::Node& segments : g.nodes) {
    if (segments.removed || segments.op != "SegmentedElementwise" || segments.inputs.empty()) continue;
    graph::Node* producer = sole_producer(g, consumers, segments.inputs[0]);
    graph::Node* reshape = producer && producer->op == "Reshape" ? producer : nullptr;
    graph::Node* conv = reshape ? sole_producer(g, consumers, reshape->inputs[0]) : producer;
    if (!conv || !pointwise_float_conv(g, *conv)) continue;
    const Shape& y = g.values[conv->outputs[0]].shape;
    const Shape& view = g.values[segments.inputs[0]].shape;
    if (y.size() != 4 || view.size() < 4 || num_elements(y) != num_elements(view) || view[0] != y[0] ||
        view[view.size() - 2] != y[2] || view.back() != y[3]) {
      continue;
    }
    fuse(g, segments, *conv, reshape);
    changed = true;
  }
  if (changed) g.compact();
}

}  // namespace sparrow::passes
