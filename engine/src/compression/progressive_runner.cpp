#include "compression/progressive_runner.h"

#include <algorithm>

#include "sparrow/engine.h"
#include "sparrow/error.h"

namespace sparrow::compression {
namespace {

std::map<std::string, int> producers(const onnx::GraphProto& graph) {
  std::map<std::string, int> producer;
  for (int i = 0; i < graph.node_size(); ++i) {
    for (const std::string& out : graph.node(i).output()) producer[out] = i;
  }
  return producer;
}

void add_float_value(google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>& values, const std::string& name,
                     const Shape* shape) {
  onnx::ValueInfoProto* value = values.Add();
  value->set_name(name);
  auto* type = value->mutable_type()->mutable_tensor_type();
  type->set_elem_type(onnx::TensorProto::FLOAT);
  auto* dims = type->mutable_shape();  // present for ONNX's checker; outputs' shapes the engine infers
  if (shape) {
    for (int64_t d : *shape) dims->add_dim()->set_dim_value(d);
  }
}

}  // namespace

ProgressiveRunner::ProgressiveRunner(const std::vector<Tensor>& images, std::string input_name, int num_cores)
    : images_(images), input_name_(std::move(input_name)), num_cores_(num_cores) {}

// The nodes between the kept tensors (and the image) and `wanted`, as a model whose inputs are
// the kept tensors it reads and whose outputs are `wanted`.
onnx::ModelProto ProgressiveRunner::part(const onnx::ModelProto& model, const std::vector<std::string>& wanted,
                                         std::set<int>& nodes, std::vector<std::string>& inputs) const {
  const onnx::GraphProto& graph = model.graph();
  const std::map<std::string, int> producer = producers(graph);
  std::set<std::string> used, input_set;
  std::vector<std::string> pending = wanted;
  while (!pending.empty()) {
    const std::string name = pending.back();
    pending.pop_back();
    used.insert(name);
    const auto it = producer.find(name);
    if (kept_.count(name) || name == input_name_ || it == producer.end()) {
      if ((kept_.count(name) || name == input_name_) && input_set.insert(name).second) inputs.push_back(name);
      continue;
    }
    if (!nodes.insert(it->second).second) continue;
    for (const std::string& in : graph.node(it->second).input()) pending.push_back(in);
  }
  onnx::ModelProto sub = model;
  onnx::GraphProto& g = *sub.mutable_graph();
  g.clear_node();
  for (int i : nodes) *g.add_node() = graph.node(i);  // std::set: graph order kept
  g.clear_initializer();
  for (const auto& init : graph.initializer()) {
    if (used.count(init.name()) && !input_set.count(init.name())) *g.add_initializer() = init;
  }
  g.clear_input();
  g.clear_output();
  g.clear_value_info();
  for (const std::string& name : inputs) {
    add_float_value(*g.mutable_input(), name, name == input_name_ ? &images_.front().shape() : &kept_.at(name).front().shape());
  }
  return sub;
}

// Tensors the pass computes that a node it does not run reads: later passes need them.
std::vector<std::string> ProgressiveRunner::frontier(const onnx::GraphProto& graph, const std::set<int>& nodes) const {
  std::set<std::string> computed;
  for (int i : nodes) computed.insert(graph.node(i).output().begin(), graph.node(i).output().end());
  std::set<std::string> needed;
  for (int i = 0; i < graph.node_size(); ++i) {
    if (nodes.count(i) || computed_.count(i)) continue;
    for (const std::string& in : graph.node(i).input()) {
      if (computed.count(in)) needed.insert(in);
    }
  }
  return {needed.begin(), needed.end()};
}

void ProgressiveRunner::release(const onnx::GraphProto& graph) {
  for (auto it = kept_.begin(); it != kept_.end();) {
    bool read_later = false;
    for (int i = 0; i < graph.node_size() && !read_later; ++i) {
      if (computed_.count(i)) continue;
      const auto& in = graph.node(i).input();
      read_later = std::find(in.begin(), in.end(), it->first) != in.end();
    }
    it = read_later ? std::next(it) : kept_.erase(it);
  }
}

const Tensor& ProgressiveRunner::tensor(const std::string& name, size_t n) const {
  if (name == input_name_) return images_.at(n);
  const auto it = kept_.find(name);
  if (it == kept_.end()) throw Error(ErrorCode::kInternal, "tensor '" + name + "' was not computed");
  return it->second.at(n);
}

void ProgressiveRunner::change(const std::string& name, const std::function<void(Tensor&)>& change) {
  const auto it = kept_.find(name);
  if (it == kept_.end()) throw Error(ErrorCode::kInternal, "tensor '" + name + "' was not computed");
  for (Tensor& t : it->second) change(t);
}

void ProgressiveRunner::advance(const onnx::ModelProto& model, const std::vector<std::string>& targets) {
  std::vector<std::string> missing;
  for (const std::string& t : targets) {
    if (!kept_.count(t) && t != input_name_) missing.push_back(t);
  }
  if (!missing.empty()) {
    std::set<int> nodes;
    std::vector<std::string> inputs;
    onnx::ModelProto sub = part(model, missing, nodes, inputs);
    std::vector<std::string> outputs = frontier(model.graph(), nodes);
    for (const std::string& t : missing) {
      if (std::find(outputs.begin(), outputs.end(), t) == outputs.end()) outputs.push_back(t);
    }
    for (const std::string& name : outputs) add_float_value(*sub.mutable_graph()->mutable_output(), name, nullptr);
    CompileOptions options;
    options.batch_size = 1;
    options.num_cores = num_cores_;
    const Engine engine = Engine::load_from_bytes(sub.SerializeAsString(), options);
    std::vector<Tensor> feed(engine.inputs().size()), results;
    for (size_t n = 0; n < images_.size(); ++n) {
      for (size_t i = 0; i < feed.size(); ++i) {
        const std::string& name = engine.inputs()[i].name;
        feed[i] = name == input_name_ ? images_[n] : kept_.at(name)[n];
      }
      engine.run(feed, results);
      for (size_t o = 0; o < results.size(); ++o) kept_[engine.outputs()[o].name].push_back(std::move(results[o]));
      results.clear();
    }
    computed_.insert(nodes.begin(), nodes.end());
  }
}

}  // namespace sparrow::compression
