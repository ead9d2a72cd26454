#include "graph/graph.h"

#include <algorithm>

#include "sparrow/error.h"

namespace sparrow::graph {

std::string Node::label() const { return "node '" + name + "' (" + op + ")"; }

int Graph::add_value(const std::string& name) {
  if (index_.count(name)) throw Error(ErrorCode::kInvalidModel, "value '" + name + "' is defined twice");
  int id = static_cast<int>(values.size());
  values.push_back(Value{});
  values.back().name = name;
  index_[name] = id;
  return id;
}

int Graph::add_constant(const std::string& name, Tensor tensor) {
  int id = add_value(name);
  Value& v = values[id];
  v.dtype = tensor.dtype();
  v.shape = tensor.shape();
  v.typed = true;
  v.constant = std::move(tensor);
  return id;
}

int Graph::find_value(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? -1 : it->second;
}

std::string Graph::unique_name(const std::string& base) {
  std::string name;
  do {
    name = base + "#" + std::to_string(name_counter_++);
  } while (index_.count(name));
  return name;
}

std::vector<std::vector<int>> Graph::consumers() const {
  std::vector<std::vector<int>> out(values.size());
  for (size_t n = 0; n < nodes.size(); ++n) {
    if (nodes[n].removed) continue;
    for (int v : nodes[n].inputs) {
      if (v != kNoValue) out[v].push_back(static_cast<int>(n));
    }
  }
  return out;
}

bool Graph::is_output(int value) const {
  return std::find(outputs.begin(), outputs.end(), value) != outputs.end();
}

void Graph::replace_uses(int from, int to) {
  for (Node& node : nodes) {
    if (node.removed) continue;
    for (int& v : node.inputs) {
      if (v == from) v = to;
    }
  }
  for (int& v : outputs) {
    if (v == from) v = to;
  }
}

void Graph::compact() {
  std::vector<Node> kept;
  kept.reserve(nodes.size());
  for (Node& node : nodes) {
    if (!node.removed) kept.push_back(std::move(node));
  }
  nodes = std::move(kept);
  for (Value& v : values) v.producer = -1;
  for (size_t n = 0; n < nodes.size(); ++n) {
    for (int v : nodes[n].outputs) values[v].producer = static_cast<int>(n);
  }
}

}  // namespace sparrow::graph
