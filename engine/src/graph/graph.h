// The intermediate representation: values (typed, shaped, maybe constant) and the nodes that
// compute them, in topological order. Small on purpose; passes rewrite it in place.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "graph/attributes.h"
#include "graph/quant_params.h"
#include "sparrow/tensor.h"

namespace sparrow::graph {

constexpr int kNoValue = -1;  // an absent optional input

struct Value {
  std::string name;
  DType dtype = DType::kFloat32;
  Shape shape;
  bool typed = false;               // dtype and shape are known
  std::optional<Tensor> constant;   // initializer, Constant or folded result
  int producer = -1;                // index of the node computing it; -1 for inputs and constants
  std::optional<QuantParams> quant; // the grid a float value lies on, where known (quant_params.h)
};

struct Node {
  std::string name;
  std::string op;  // ONNX op type, or an internal fused op such as "Silu"
  int opset = 0;   // the model's opset for the op's domain
  Attributes attrs;
  std::vector<int> inputs;   // value ids; kNoValue for an omitted optional input
  std::vector<int> outputs;  // value ids
  bool removed = false;      // set by passes; compact() drops it

  // "node 'name' (Op)", the prefix of every error about this node.
  std::string label() const;
  bool has_input(size_t i) const { return i < inputs.size() && inputs[i] != kNoValue; }
};

class Graph {
 public:
  std::vector<Value> values;
  std::vector<Node> nodes;
  std::vector<int> inputs;   // runtime inputs (initializers excluded)
  std::vector<int> outputs;
  // The model's names for its outputs, kept apart because passes may replace output values.
  std::vector<std::string> output_names;
  std::map<std::string, std::string> metadata;

  int add_value(const std::string& name);
  int add_constant(const std::string& name, Tensor tensor);
  int find_value(const std::string& name) const;  // -1 when absent
  // A fresh value name derived from `base`.
  std::string unique_name(const std::string& base);

  // consumers()[v] lists the nodes (not removed) that read value v, each once per use.
  std::vector<std::vector<int>> consumers() const;
  bool is_output(int value) const;
  // Makes every node and graph output that reads `from` read `to` instead.
  void replace_uses(int from, int to);
  // Drops removed nodes and renumbers producers.
  void compact();

 private:
  std::map<std::string, int> index_;
  int name_counter_ = 0;
};

}  // namespace sparrow::graph
