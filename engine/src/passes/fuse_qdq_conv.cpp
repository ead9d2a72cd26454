#include <cmath>
#include <optional>

#include "ops/fused_attrs.h"
#include "passes/passes.h"
#include "passes/qdq_patterns.h"

namespace sparrow::passes {
namespace {

struct Match {
  graph::Node* conv = nullptr;
  const graph::Node* dequantize = nullptr;  // of the input
  graph::Node* quantize = nullptr;          // of the output; none for a float output
  graph::QuantParams x, w, y;
};

// The weights' integers, taken back exactly from the float constant infer_and_fold made of them.
Tensor weight_integers(const Tensor& wf, const graph::QuantParams& p) {
  Tensor q(DType::kInt8, wf.shape());
  const int64_t per_channel = wf.size() / wf.shape()[0];
  for (int64_t i = 0; i < wf.size(); ++i) {
    q.data_as<int8_t>()[i] = static_cast<int8_t>(std::nearbyint(wf.data_as<float>()[i] / p.scale(i / per_channel)));
  }
  return q;
}

// A float bias in the accumulator's units, x_scale * w_scale[c], as QLinearConv takes it.
Tensor bias_integers(const Tensor& b, const graph::QuantParams& x, const graph::QuantParams& w) {
  Tensor q(DType::kInt32, b.shape());
  for (int64_t c = 0; c < b.size(); ++c) {
    q.data_as<int32_t>()[c] = static_cast<int32_t>(std::nearbyint(b.data_as<float>()[c] / (x.scale(0) * w.scale(c))));
  }
  return q;
}

std::optional<Match> match(graph::Graph& g, graph::Node& conv, const std::vector<std::vector<int>>& consumers) {
  if (conv.removed || conv.op != "Conv" || conv.attrs.has(ops::kResidualAttr)) return std::nullopt;
  const graph::Value& wf = g.values[conv.inputs[1]];
  if (!wf.constant || !wf.quant) return std::nullopt;
  if (wf.quant->dtype != DType::kInt8 || !wf.quant->symmetric() || (!wf.quant->per_tensor() && wf.quant->axis != 0)) return std::nullopt;
  if (conv.has_input(2) && !g.values[conv.inputs[2]].constant) return std::nullopt;
  Match m{&conv, u8_dequantize_of(g, conv.inputs[0]), nullptr, {}, *wf.quant, {}};
  m.quantize = sole_quantize_of(g, consumers, conv.outputs[0], &m.y);
  if (!m.dequantize) return std::nullopt;
  if (!m.quantize && g.values[conv.outputs[0]].dtype != DType::kFloat32) return std::nullopt;
  m.x = *g.values[conv.inputs[0]].quant;
  return m;
}

void rewrite(graph::Graph& g, const Match& m) {
  graph::Node& conv = *m.conv;
  const std::string base = conv.name.empty() ? g.values[conv.outputs[0]].name : conv.name;
  auto constant = [&](const std::string& what, Tensor t) { return g.add_constant(g.unique_name(base + ":" + what), std::move(t)); };
  // Before any add_constant, which may move g.values and the constants it holds.
  Tensor w_quantized = weight_integers(*g.values[conv.inputs[1]].constant, m.w);
  std::optional<Tensor> bias;
  if (conv.has_input(2) && m.quantize) bias = bias_integers(*g.values[conv.inputs[2]].constant, m.x, m.w);
  const Shape scale_shape = m.w.per_tensor() ? Shape{} : Shape{w_quantized.shape()[0]};
  std::vector<int> inputs = {
      m.dequantize->inputs[0],
      m.dequantize->inputs[1],
      constant("x_zero_point", Tensor::scalar<uint8_t>(static_cast<uint8_t>(m.x.zero_point(0)))),
      constant("w_quantized", std::move(w_quantized)),
      constant("w_scale", Tensor::from_vector<float>(scale_shape, m.w.scales)),
      constant("w_zero_point", Tensor(DType::kInt8, scale_shape)),
  };
  conv.op = "QLinearConv";
  if (!m.quantize) {  // the output stays float, and so does the bias
    inputs.resize(8, graph::kNoValue);
    if (conv.has_input(2)) inputs.push_back(conv.inputs[2]);
    conv.inputs = inputs;
    conv.attrs.set(ops::kFloatOutputAttr, int64_t{1});
    return;
  }
  inputs.push_back(m.quantize->inputs[1]);
  inputs.push_back(constant("y_zero_point", m.y.dtype == DType::kUint8 ? Tensor::scalar<uint8_t>(static_cast<uint8_t>(m.y.zero_point(0)))
                                                                      : Tensor::scalar<int8_t>(static_cast<int8_t>(m.y.zero_point(0)))));
  if (bias) inputs.push_back(constant("bias_quantized", std::move(*bias)));
  conv.inputs = inputs;
  conv.outputs = m.quantize->outputs;
  conv.name += "+" + m.quantize->name;
  m.quantize->removed = true;
}

}  // namespace

void fuse_qdq_conv(graph::Graph& g) {
  const auto consumers = g.consumers();
  std::vector<Match> matches;
  for (graph::Node& conv : g.nodes) {
    if (auto m = match(g, conv, consumers)) matches.push_back(*m);
  }
  // add_constant grows g.values, so rewrite only once every match holds no Value reference.
  for (const Match& m : matches) rewrite(g, m);
  g.compact();
}

}  // namespace sparrow::passes
