#include "compression/conv_roles.h"

#include <map>
#include <string>
#include <vector>

namespace sparrow::compression {

std::set<int> head_convs(const onnx::GraphProto& graph) {
  std::map<std::string, int> producer;
  for (int i = 0; i < graph.node_size(); ++i) {
    for (const std::string& out : graph.node(i).output()) producer[out] = i;
  }
  std::set<int> heads, seen;
  std::vector<std::string> pending;
  for (const auto& out : graph.output()) pending.push_back(out.name());
  while (!pending.empty()) {
    const auto it = producer.find(pending.back());
    pending.pop_back();
    if (it == producer.end() || !seen.insert(it->second).second) continue;
    const onnx::NodeProto& node = graph.node(it->second);
    if (node.op_type() == "Conv") {
      heads.insert(it->second);
      continue;
    }
    for (const std::string& in : node.input()) pending.push_back(in);
  }
  return heads;
}

std::set<int> input_convs(const onnx::GraphProto& graph) {
  std::multimap<std::string, int> consumers;
  for (int i = 0; i < graph.node_size(); ++i) {
    for (const std::string& in : graph.node(i).input()) consumers.emplace(in, i);
  }
  std::set<std::string> initializers;
  for (const auto& init : graph.initializer()) initializers.insert(init.name());
  std::set<int> first, seen;
  std::vector<std::string> pending;
  for (const auto& in : graph.input()) {
    if (!initializers.count(in.name())) pending.push_back(in.name());
  }
  while (!pending.empty()) {
    const std::string tensor = pending.back();
    pending.pop_back();
    const auto [begin, end] = consumers.equal_range(tensor);
    for (auto it = begin; it != end; ++it) {
      if (!seen.insert(it->second).second) continue;
      const onnx::NodeProto& node = graph.node(it->second);
      if (node.op_type() == "Conv") {
        first.insert(it->second);
        continue;
      }
      for (const std::string& out : node.output()) pending.push_back(out);
    }
  }
  return first;
}

}  // namespace sparrow::compression
