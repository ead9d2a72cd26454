#include "compression/conv_roles.h"

#include <fnmatch.h>

#include <map>
#include <string>
#include <vector>

#include "sparrow/error.h"

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

std::set<std::string> excluded_nodes(const onnx::GraphProto& graph, const std::vector<std::string>& patterns) {
  std::set<std::string> names;
  for (const std::string& pattern : patterns) {
    size_t matched = 0;
    for (const onnx::NodeProto& node : graph.node()) {
      if (node.name() != pattern && fnmatch(pattern.c_str(), node.name().c_str(), 0) != 0) continue;
      names.insert(node.name());
      ++matched;
    }
    if (matched > 0) continue;
    const bool glob = pattern.find_first_of("*?[") != std::string::npos;
    throw Error(ErrorCode::kNotFound, glob ? "no node name matches '" + pattern + "' to exclude"
                                           : "no node named '" + pattern + "' to exclude");
  }
  return names;
}

}  // namespace sparrow::compression
