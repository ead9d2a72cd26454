// Op definitions: for each ONNX (or internal fused) op, its type and shape inference and a plain
// reference implementation on row-major tensors. The reference serves constant folding, the
// fallback kernel, and the oracle that every optimised kernel is tested against.
#pragma once

#include <string>
#include <vector>

#include "graph/graph.h"
#include "ops/tensor_view.h"

namespace sparrow::ops {

struct TypeShape {
  DType dtype = DType::kFloat32;
  Shape shape;
};

// What an op's inference sees of one node.
class InferContext {
 public:
  InferContext(const graph::Graph& graph, const graph::Node& node) : graph_(graph), node_(node) {}

  const graph::Graph& graph() const { return graph_; }
  const graph::Node& node() const { return node_; }
  const graph::Attributes& attrs() const { return node_.attrs; }
  int opset() const { return node_.opset; }
  size_t num_inputs() const { return node_.inputs.size(); }
  bool has_input(size_t i) const { return node_.has_input(i); }
  DType dtype(size_t i) const;
  const Shape& shape(size_t i) const;
  int64_t rank(size_t i) const { return static_cast<int64_t>(shape(i).size()); }
  // The input's compile-time value, or nullptr when it is computed at run time.
  const Tensor* constant(size_t i) const;
  // The input's value as integers; throws kUnsupported when it is not known at compile time.
  std::vector<int64_t> constant_ints(size_t i, const char* what) const;

  // Throw kInvalidModel / kUnsupported; the caller adds the node's label.
  [[noreturn]] void invalid(const std::string& why) const;
  [[noreturn]] void unsupported(const std::string& why) const;
  // Requires num_inputs in [min, max] and every required input present.
  void expect_inputs(size_t min, size_t max) const;
  void expect_dtype(size_t i, std::initializer_list<DType> allowed) const;

 private:
  const graph::Value& value(size_t i) const;
  const graph::Graph& graph_;
  const graph::Node& node_;
};

using InferFn = std::vector<TypeShape> (*)(const InferContext&);
// Outputs are allocated by the caller with the shapes inference returned.
using EvalFn = void (*)(const graph::Node&, const std::vector<TensorView>& inputs,
                        const std::vector<TensorView>& outputs);

// onnxruntime's contrib domain, whose QOperator ops (QLinearAdd, ...) its quantizer writes.
inline constexpr const char* kMicrosoftDomain = "com.microsoft";

struct OpDef {
  std::string name;
  InferFn infer = nullptr;
  EvalFn evaluate = nullptr;
  // The output depends only on the inputs' shapes (Shape): foldable once shapes are known.
  bool shape_only = false;
  // The ONNX domain a model names the op in: "" for ONNX's own (and Sparrow's internal fused
  // ops, which ONNX's checker keeps out of files), kMicrosoftDomain for onnxruntime's.
  std::string domain = {};
};

// nullptr for ops the engine does not know. IR op names are unique across domains.
const OpDef* find_op(const std::string& name);
// The op as a model's node names it: nullptr unless it is registered for that domain ("" and
// "ai.onnx" both being ONNX's default domain).
const OpDef* find_op(const std::string& domain, const std::string& name);
// The ops registered for a domain, sorted by name; empty for a domain Sparrow does not know.
std::vector<std::string> ops_of_domain(const std::string& domain);

// Normalises a possibly negative axis against rank; throws kInvalidModel when out of range.
int64_t normalize_axis(int64_t axis, int64_t rank, const char* what = "axis");

}  // namespace sparrow::ops
