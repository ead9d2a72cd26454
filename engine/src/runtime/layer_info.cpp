#include "runtime/layer_info.h"

#include <algorithm>

#include "ops/conv_segmented.h"
#include "sparrow/engine.h"

namespace sparrow::runtime {
namespace {

const char* short_name(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return "f32";
    case DType::kUint8: return "u8";
    case DType::kInt8: return "s8";
    case DType::kInt32: return "s32";
    case DType::kInt64: return "s64";
    case DType::kBool: return "b8";
  }
  return "?";
}

// The op whose weights the node holds: a fused ConvSegmented's conv's.
std::string weights_op(const graph::Node& node) {
  return node.op == "ConvSegmented" ? node.attrs.get_string(ops::kConvOpAttr, "") : node.op;
}

// Where the weights are: {input index, zero-point index or -1}.
std::pair<int, int> weight_inputs(const std::string& op) {
  if (op == "Conv" || op == "ConvTranspose" || op == "MatMul" || op == "Gemm") return {1, -1};
  if (op == "QLinearConv" || op == "QLinearMatMul") return {3, 5};
  if (op == "ConvInteger" || op == "MatMulInteger") return {1, 3};
  return {-1, -1};
}

}  // namespace

// A row name leads with its data type ("qu8-conv-onednn"), except the sparse rows, which lead
// with "sparse" ("sparse-conv-u8s8-..."): those, like the reference, take the node's.
std::string layer_dtype(const graph::Graph& g, const graph::Node& node, const std::string& row) {
  if (row != "reference" && row.rfind("sparse-", 0) != 0) return row.substr(0, row.find('-'));
  const DType first = node.has_input(0) ? g.values[node.inputs[0]].dtype : DType::kFloat32;
  if (node.op.rfind("QLinear", 0) == 0) return first == DType::kInt8 ? "qs8" : "qu8";
  return short_name(first);
}

namespace {

// Which of the node's constant weights are zero (equal to their zero point when quantized);
// empty for nodes without constant weights.
std::vector<bool> zero_weights(const graph::Graph& g, const graph::Node& node) {
  const auto [w, zp] = weight_inputs(weights_op(node));
  if (w < 0 || !node.has_input(static_cast<size_t>(w)) || !g.values[node.inputs[w]].constant) return {};
  const Tensor& weights = *g.values[node.inputs[w]].constant;
  const std::vector<int64_t> values = weights.dtype() == DType::kFloat32 ? std::vector<int64_t>{} : weights.to_int64_vector();
  int64_t zero = 0;
  if (zp >= 0 && node.has_input(static_cast<size_t>(zp)) && g.values[node.inputs[zp]].constant &&
      g.values[node.inputs[zp]].constant->size() == 1) {
    zero = g.values[node.inputs[zp]].constant->to_int64_vector()[0];
  }
  std::vector<bool> zeros(static_cast<size_t>(weights.size()));
  for (int64_t i = 0; i < weights.size(); ++i) {
    zeros[i] = values.empty() ? weights.data_as<float>()[i] == 0.0f : values[static_cast<size_t>(i)] == zero;
  }
  return zeros;
}

}  // namespace

double weight_sparsity(const graph::Graph& g, const graph::Node& node) {
  const std::vector<bool> zeros = zero_weights(g, node);
  if (zeros.empty()) return 0;
  return static_cast<double>(std::count(zeros.begin(), zeros.end(), true)) / static_cast<double>(zeros.size());
}

double block_sparsity(const graph::Graph& g, const graph::Node& node) {
  const std::string op = weights_op(node);
  if (op != "Conv" && op != "QLinearConv" && op != "ConvInteger") return 0;
  const std::vector<bool> zeros = zero_weights(g, node);
  if (zeros.empty()) return 0;
  const Shape& shape = g.values[node.inputs[static_cast<size_t>(weight_inputs(op).first)]].shape;
  const int64_t oc = shape[0], ic = shape[1], taps = num_elements(shape) / (oc * ic);
  int64_t blocks = 0, empty = 0;
  for (int64_t o = 0; o < oc; ++o) {
    for (int64_t t = 0; t < taps; ++t) {
      for (int64_t c = 0; c < ic; c += kBlock) {
        bool all_zero = true;
        for (int64_t j = c; j < std::min(c + kBlock, ic); ++j) all_zero = all_zero && zeros[(o * ic + j) * taps + t];
        ++blocks;
        empty += all_zero;
      }
    }
  }
  return static_cast<double>(empty) / static_cast<double>(blocks);
}

}  // namespace sparrow::runtime

namespace sparrow {

LayerCounts count_layers(const PlanDescription& plan) {
  LayerCounts c;
  for (const LayerInfo& layer : plan.layers) {
    ++c.total;
    const bool reference = layer.kernel.rfind("reference", 0) == 0;
    const bool sparse = layer.kernel.find("sparse") != std::string::npos;
    const bool int8 = layer.dtype == "qu8" || layer.dtype == "qs8" || layer.dtype == "u8" || layer.dtype == "s8";
    c.reference += reference;
    c.sparse += sparse;
    c.int8 += int8;
    c.dense += !reference && !sparse && !int8;
  }
  return c;
}

// A reference kernel is plain single-threaded code, tens to hundreds of times slower than the
// optimised ones: a plan with one is rarely what its user wanted, and rarely says so by itself.
std::string reference_layers_warning(const PlanDescription& plan) {
  std::vector<std::string> names;
  for (const LayerInfo& layer : plan.layers) {
    if (layer.kernel.rfind("reference", 0) == 0) names.push_back(layer.name);
  }
  if (names.empty()) return {};
  constexpr size_t kNamed = 3;
  std::string text = std::to_string(names.size()) + " of " + std::to_string(plan.layers.size()) +
                     " layers run on the reference kernels, plain code far slower than the optimised kernels: ";
  for (size_t i = 0; i < std::min(names.size(), kNamed); ++i) text += (i ? ", " : "") + names[i];
  if (names.size() > kNamed) text += " and " + std::to_string(names.size() - kNamed) + " more";
  return text + ". `sparrow describe` lists each layer's kernel; SPARROW_VERBOSE=1 says why the optimised ones declined on " +
         plan.isa;
}

}  // namespace sparrow
