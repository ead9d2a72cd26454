#include "compression/layerwise_calibration.h"

#include <map>
#include <optional>
#include <set>

#include "compression/calibrator.h"
#include "compression/progressive_runner.h"
#include "sparrow/engine.h"
#include "sparrow/error.h"

namespace sparrow::compression {
namespace {

// For each node, the layers (node indices) its output depends on, through any path.
std::vector<std::set<int>> layer_ancestors(const onnx::GraphProto& graph, const std::vector<int>& layers) {
  const std::set<int> targets(layers.begin(), layers.end());
  std::map<std::string, int> producer;
  std::vector<std::set<int>> ancestors(static_cast<size_t>(graph.node_size()));
  for (int i = 0; i < graph.node_size(); ++i) {
    std::set<int>& mine = ancestors[static_cast<size_t>(i)];
    for (const std::string& in : graph.node(i).input()) {
      const auto it = producer.find(in);
      if (it != producer.end()) mine.insert(ancestors[static_cast<size_t>(it->second)].begin(), ancestors[static_cast<size_t>(it->second)].end());
    }
    if (targets.count(i)) mine.insert(i);
    for (const std::string& out : graph.node(i).output()) producer[out] = i;
  }
  return ancestors;
}

class LayerwiseCalibration {
 public:
  LayerwiseCalibration(onnx::ModelProto& model, const std::vector<int>& nodes, const CalibrationInputs& inputs,
                       const PruneOptions& options, DenseInputs dense)
      : model_(model), graph_(*model.mutable_graph()), nodes_(nodes), options_(options),
        ancestors_(layer_ancestors(model.graph(), nodes)), runner_(inputs.images, inputs.input_name, options.num_cores),
        image_count_(inputs.images.size()), input_name_(inputs.input_name), rounded_to_(inputs.rounded_to) {
    if (dense == DenseInputs::kCollect) {
      dense_model_ = model;
      dense_runner_.emplace(inputs.images, inputs.input_name, options.num_cores);
    }
  }

  void run(const LayerVisitor& visit) {
    std::set<size_t> pending;
    for (size_t i = 0; i < nodes_.size(); ++i) pending.insert(i);
    while (!pending.empty()) {
      const std::vector<size_t> batch = ready_layers(pending);
      const std::vector<LayerHessian> hessians = collect_hessians(batch);
      for (size_t i = 0; i < batch.size(); ++i) {
        visit(batch[i], hessians[i]);
        pending.erase(batch[i]);
      }
    }
  }

 private:
  const onnx::NodeProto& conv(size_t layer) const { return graph_.node(nodes_[layer]); }

  // The layers whose inputs no layer still to visit feeds: one pass computes all their inputs.
  std::vector<size_t> ready_layers(const std::set<size_t>& pending) const {
    std::map<std::string, int> producer;
    for (int i = 0; i < graph_.node_size(); ++i) {
      for (const std::string& out : graph_.node(i).output()) producer[out] = i;
    }
    std::set<int> pending_nodes;
    for (size_t l : pending) pending_nodes.insert(nodes_[l]);
    std::vector<size_t> ready;
    for (size_t l : pending) {
      const auto it = producer.find(conv(l).input(0));
      bool free = true;
      if (it != producer.end()) {
        for (int a : ancestors_[static_cast<size_t>(it->second)]) free = free && !pending_nodes.count(a);
      }
      if (free) ready.push_back(l);
    }
    return ready;
  }

  std::vector<LayerHessian> collect_hessians(const std::vector<size_t>& batch) {
    std::vector<std::string> tensors;
    for (size_t l : batch) tensors.push_back(conv(l).input(0));
    runner_.advance(model_, tensors);
    round_to_grids(tensors);
    if (dense_runner_) dense_runner_->advance(dense_model_, tensors);
    std::vector<LayerHessian> hessians;
    for (size_t i = 0; i < batch.size(); ++i) {
      for (size_t n = 0; n < image_count_; ++n) {
        const Tensor& x = runner_.tensor(tensors[i], n);
        if (hessians.size() == i) hessians.push_back(conv_hessian(graph_, nodes_[batch[i]], x.shape(), options_.seed));
        hessians[i].add(x.data_as<float>(), dense_runner_ ? dense_runner_->tensor(tensors[i], n).data_as<float>() : nullptr);
      }
    }
    runner_.release(model_.graph());
    if (dense_runner_) dense_runner_->release(dense_model_.graph());
    return hessians;
  }

  // The image input is on its grid already (letterboxed pixels are k / 255).
  void round_to_grids(const std::vector<std::string>& tensors) {
    for (const std::string& name : std::set<std::string>(tensors.begin(), tensors.end())) {
      const auto grid = rounded_to_.find(name);
      if (grid == rounded_to_.end() || name == input_name_) continue;
      runner_.change(name, [&](Tensor& t) { round_to_grid(grid->second, t.data_as<float>(), static_cast<size_t>(t.size())); });
    }
  }

  onnx::ModelProto& model_;
  onnx::ModelProto dense_model_;  // with DenseInputs::kCollect, the model on entry
  onnx::GraphProto& graph_;
  const std::vector<int>& nodes_;
  const PruneOptions& options_;
  std::vector<std::set<int>> ancestors_;
  ProgressiveRunner runner_;
  std::optional<ProgressiveRunner> dense_runner_;
  size_t image_count_;
  std::string input_name_;
  const std::map<std::string, U8Grid>& rounded_to_;
};

}  // namespace

CalibrationInputs load_calibration_inputs(const onnx::ModelProto& model, const PruneOptions& options) {
  CompileOptions compile;
  compile.batch_size = 1;
  const Engine engine = Engine::load_from_bytes(model.SerializeAsString(), compile);
  const TensorSpec& spec = image_input(engine);
  CalibrationInputs inputs;
  inputs.input_name = spec.name;
  for (const std::string& path : options.calibration_images) inputs.images.push_back(letterboxed_image(path, spec));
  return inputs;
}

void visit_layers_in_order(onnx::ModelProto& model, const std::vector<int>& nodes, const CalibrationInputs& inputs,
                           const PruneOptions& options, DenseInputs dense, const LayerVisitor& visit) {
  LayerwiseCalibration(model, nodes, inputs, options, dense).run(visit);
}

}  // namespace sparrow::compression
