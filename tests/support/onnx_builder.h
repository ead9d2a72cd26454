// Builds small ONNX models in memory for tests: typed inputs, initializers, nodes with attributes.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include "sparrow/tensor.h"

namespace sparrow::test {

struct Attr {
  enum class Kind { kInt, kFloat, kString, kInts, kFloats, kTensor };
  std::string name;
  Kind kind = Kind::kInt;
  int64_t i = 0;
  float f = 0;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<float> floats;
  Tensor tensor;

  static Attr Int(std::string n, int64_t v) { Attr a; a.name = std::move(n); a.kind = Kind::kInt; a.i = v; return a; }
  static Attr Float(std::string n, float v) { Attr a; a.name = std::move(n); a.kind = Kind::kFloat; a.f = v; return a; }
  static Attr String(std::string n, std::string v) { Attr a; a.name = std::move(n); a.kind = Kind::kString; a.s = std::move(v); return a; }
  static Attr Ints(std::string n, std::vector<int64_t> v) { Attr a; a.name = std::move(n); a.kind = Kind::kInts; a.ints = std::move(v); return a; }
  static Attr Floats(std::string n, std::vector<float> v) { Attr a; a.name = std::move(n); a.kind = Kind::kFloats; a.floats = std::move(v); return a; }
  static Attr TensorValue(std::string n, Tensor v) { Attr a; a.name = std::move(n); a.kind = Kind::kTensor; a.tensor = std::move(v); return a; }
};

class OnnxBuilder {
 public:
  explicit OnnxBuilder(int opset = 13) : opset_(opset) {}

  // dims of -1 become symbolic ("dynamic") dims.
  OnnxBuilder& input(const std::string& name, DType dtype, const Shape& shape);
  // Outputs declare only their dtype unless a shape is given; ONNX shape inference works out
  // the rest.
  OnnxBuilder& output(const std::string& name, DType dtype = DType::kFloat32, const Shape& shape = {});
  OnnxBuilder& initializer(const std::string& name, const Tensor& value);
  // An initializer whose bytes live in `location` (relative to the model file), not in the model.
  OnnxBuilder& external_initializer(const std::string& name, const Tensor& value, const std::string& location);
  OnnxBuilder& node(const std::string& op, std::vector<std::string> inputs, std::vector<std::string> outputs,
                    std::vector<Attr> attrs = {}, const std::string& name = "");
  // A node of another domain ("com.microsoft"), whose opset 1 the model then imports. ONNX's
  // shape inference does not know such ops: give the graph outputs they feed a shape.
  OnnxBuilder& domain_node(const std::string& domain, const std::string& op, std::vector<std::string> inputs,
                           std::vector<std::string> outputs, std::vector<Attr> attrs = {}, const std::string& name = "");
  OnnxBuilder& metadata(const std::string& key, const std::string& value);

  // The serialized ModelProto.
  std::string bytes() const;

 private:
  struct NodeSpec {
    std::string op, name, domain;
    std::vector<std::string> inputs, outputs;
    std::vector<Attr> attrs;
  };
  int opset_;
  std::vector<std::pair<std::string, std::pair<DType, Shape>>> inputs_;
  std::vector<std::pair<std::string, std::pair<DType, Shape>>> outputs_;
  std::vector<std::pair<std::string, Tensor>> initializers_;
  std::vector<std::pair<std::string, std::pair<Tensor, std::string>>> external_;
  std::vector<NodeSpec> nodes_;
  std::vector<std::pair<std::string, std::string>> metadata_;
};

// Uniform random floats in [lo, hi), seeded.
Tensor random_tensor(const Shape& shape, uint64_t seed, float lo = -1.0f, float hi = 1.0f);
// A fraction `sparsity` of the elements set to exactly zero.
Tensor random_sparse_tensor(const Shape& shape, uint64_t seed, double sparsity);

// YOLOv5's conv block: Conv `name` (k x k, "same" padding, random weights in +-0.5 and bias in
// +-0.2 from `seed`) on `x`, then SiLU as Sigmoid `name.s` and Mul `name.m`; nodes are named
// `name/Conv`, `name/Sigmoid`, `name/Mul`.
void conv_silu(OnnxBuilder& b, const std::string& name, const std::string& x, int64_t cin, int64_t cout, int64_t k,
               uint64_t seed);

// The pruning tests' model: images (1x3x16x16) -> c1 (the first conv) -> c2 -> c3 (10 input
// channels: a short last 4-block) -> c4, each with SiLU -> head/Conv -> head/Sigmoid -> output.
std::string small_pruning_model();

// Every initializer of the ONNX file at `path`, by name (what compress wrote, for the tests to
// compare with what it read).
std::map<std::string, Tensor> initializers_of(const std::string& path);

}  // namespace sparrow::test
