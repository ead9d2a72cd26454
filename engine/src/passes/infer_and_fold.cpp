#include <cstdio>
#include <limits>

#include "ops/op_registry.h"
#include "passes/passes.h"
#include "sparrow/error.h"

namespace sparrow::passes {
namespace {

// Larger results stay runtime nodes: folding them would only move the work into the model's memory.
constexpr int64_t kMaxFoldedElements = int64_t{1} << 24;
// No tensor of a plan may exceed this many elements; beyond it the model or the shape is absurd.
constexpr int64_t kMaxElements = int64_t{1} << 40;

bool all_inputs_constant(const graph::Graph& g, const graph::Node& node) {
  for (int v : node.inputs) {
    if (v != graph::kNoValue && !g.values[v].constant) return false;
  }
  return true;
}

void check_shape(const std::string& what, const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw Error(ErrorCode::kInvalidModel, what + ": inferred a negative dim " + shape_string(shape));
    if (d > 0 && n > kMaxElements / d) {
      throw Error(ErrorCode::kResourceExhausted, what + " would have more than 2^40 elements");
    }
    n *= d;
  }
}

std::string gib(size_t bytes) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.2f GiB", static_cast<double>(bytes) / (1 << 30));
  return text;
}

// A value larger than the memory a run may use is refused as soon as its shape is known, before
// kernels are made for it: oneDNN spent 13 s of CPU creating convolutions for a 1x3x100000x100000
// yolov5n before the plan's memory check refused it.
void check_value(const std::string& what, const graph::Value& v, size_t max_bytes) {
  check_shape(what, v.shape);
  const size_t bytes = static_cast<size_t>(num_elements(v.shape)) * dtype_size(v.dtype);
  if (max_bytes == 0 || bytes <= max_bytes) return;
  throw Error(ErrorCode::kResourceExhausted, what + " (" + shape_string(v.shape) + " " + dtype_name(v.dtype) +
                                                 ") takes " + gib(bytes) + ", more than the " + gib(max_bytes) +
                                                 " this process can use; compile for a smaller batch or input "
                                                 "size (--batch-size, --image-size)");
}

void fold(graph::Graph& g, graph::Node& node, const ops::OpDef& def) {
  int64_t total = 0;
  for (int v : node.outputs) total += num_elements(g.values[v].shape);
  if (total > kMaxFoldedElements) return;
  std::vector<ops::TensorView> in;
  for (int v : node.inputs) {
    if (v == graph::kNoValue) {
      in.push_back({});
    } else if (g.values[v].constant) {
      in.push_back(ops::TensorView::of(*g.values[v].constant));
    } else {
      in.push_back({g.values[v].dtype, g.values[v].shape, nullptr});  // shape-only ops read no data
    }
  }
  std::vector<Tensor> results;
  std::vector<ops::TensorView> out;
  for (int v : node.outputs) {
    results.emplace_back(g.values[v].dtype, g.values[v].shape);
    out.push_back(ops::TensorView::of(results.back()));
  }
  def.evaluate(node, in, out);
  for (size_t i = 0; i < node.outputs.size(); ++i) g.values[node.outputs[i]].constant = std::move(results[i]);
  node.removed = true;
}

// Ultralytics' static exports write batch 1 into their Reshape targets ([1, 3, 85, 80, 80],
// [1, -1, 85]). When compiling another batch, a Reshape whose data leads with the compiled batch
// and whose target leads with the file's batch gets the compiled batch there instead.
bool rewrite_batch_reshape(graph::Graph& g, graph::Node& node, const BatchRewrite& batch) {
  if (node.op != "Reshape" || batch.from == batch.to || node.inputs.size() < 2) return false;
  const graph::Value& data = g.values[node.inputs[0]];
  const graph::Value& target = g.values[node.inputs[1]];
  if (!target.constant || data.shape.empty() || data.shape[0] != batch.to) return false;
  std::vector<int64_t> dims = target.constant->to_int64_vector();
  if (dims.empty() || dims[0] != batch.from) return false;
  int64_t rest = 1;
  for (size_t i = 1; i < dims.size(); ++i) rest *= dims[i] > 0 ? dims[i] : 1;
  if (num_elements(data.shape) % (batch.to * std::max<int64_t>(rest, 1)) != 0) return false;
  dims[0] = batch.to;
  node.inputs[1] = g.add_constant(g.unique_name(target.name + ":batch"), Tensor::from_vector<int64_t>(
                                                                             {static_cast<int64_t>(dims.size())}, dims));
  return true;
}

std::vector<ops::TypeShape> infer_node(graph::Graph& g, graph::Node& node, const ops::OpDef& def,
                                       const BatchRewrite& batch) {
  rewrite_batch_reshape(g, node, batch);
  return def.infer(ops::InferContext(g, node));
}

}  // namespace

void infer_and_fold(graph::Graph& g, const BatchRewrite& batch, size_t max_value_bytes) {
  for (int v : g.inputs) check_value("input '" + g.values[v].name + "'", g.values[v], max_value_bytes);
  for (graph::Node& node : g.nodes) {
    if (node.removed) continue;
    const ops::OpDef* def = ops::find_op(node.op);
    if (!def) throw Error(ErrorCode::kUnsupported, node.label() + ": operator " + node.op + " is not supported");
    std::vector<ops::TypeShape> types;
    try {
      types = infer_node(g, node, *def, batch);
    } catch (const Error& e) {
      throw Error(e.code(), node.label() + ": " + e.what());
    }
    if (types.size() < node.outputs.size()) {
      throw Error(ErrorCode::kUnsupported, node.label() + ": has " + std::to_string(node.outputs.size()) +
                                               " outputs, Sparrow computes only " + std::to_string(types.size()));
    }
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      graph::Value& v = g.values[node.outputs[i]];
      v.dtype = types[i].dtype;
      v.shape = types[i].shape;
      v.typed = true;
      check_value(node.label() + ": output '" + v.name + "'", v, max_value_bytes);
    }
    if (node.op == "DequantizeLinear") g.values[node.outputs[0]].quant = graph::qdq_params(g, node);
    if (def->shape_only || all_inputs_constant(g, node)) {
      try {
        fold(g, node, *def);
      } catch (const Error& e) {
        throw Error(e.code(), node.label() + ": " + e.what());
      }
    }
  }
  g.compact();
}

}  // namespace sparrow::passes
