#include "compression/layerwise_calibration.h"

#include <map>
#include <optional>
#include <set>

#include "compression/calibrator.h"
#include "compression/conv_matrix.h"
#include "compression/progressive_runner.h"
#include "onnx/tensor_proto.h"
#include "sparrow/error.h"

namespace sparrow::compression {
namespace {

// Output pixels per image that enter a layer's Hessian: every pixel of yolov5's layers at
// 80x80 and below, a sample of the larger early ones (enough: their X has at most a few hundred rows).
constexpr int64_t kMaxPixelsPerImage = 4096;

uint64_t layer_seed(uint64_t seed, int node) { return seed * 0x9e3779b97f4a7c15ull + static_cast<uint64_t>(node) + 1; }

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
  LayerwiseCalibration(onnx::ModelProto& model, const std::vector<int>& nodes, const PruneOptions& options)
      : model_(model), graph_(*model.mutable_graph()), nodes_(nodes), options_(options),
        ancestors_(layer_ancestors(model.graph(), nodes)) {}

  void run(const LayerVisitor& visit) {
    std::set<size_t> pending;
    for (size_t i = 0; i < nodes_.size(); ++i) pending.insert(i);
    size_t done = 0;
    while (!pending.empty()) {
      const std::vector<size_t> batch = ready_layers(pending);
      const std::vector<LayerHessian> hessians = collect_hessians(batch);
      for (size_t i = 0; i < batch.size(); ++i) {
        visit(batch[i], hessians[i]);
        pending.erase(batch[i]);
        if (options_.progress) options_.progress(++done, nodes_.size());
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

  // The calibration images, letterboxed once to the model's input.
  void load_images() {
    CompileOptions compile;
    compile.batch_size = 1;
    const Engine engine = Engine::load_from_bytes(model_.SerializeAsString(), compile);
    const TensorSpec& spec = image_input(engine);
    input_name_ = spec.name;
    for (const std::string& path : options_.calibration_images) images_.push_back(letterboxed_image(path, spec));
    runner_.emplace(images_, input_name_, options_.num_cores);
  }

  std::vector<LayerHessian> collect_hessians(const std::vector<size_t>& batch) {
    if (!runner_) load_images();
    std::vector<std::string> tensors;
    for (size_t l : batch) tensors.push_back(conv(l).input(0));
    runner_->advance(model_, tensors);
    std::vector<LayerHessian> hessians;
    for (size_t i = 0; i < batch.size(); ++i) {
      for (size_t n = 0; n < images_.size(); ++n) {
        const Tensor& x = runner_->tensor(tensors[i], n);
        if (hessians.size() == i) hessians.push_back(new_hessian(batch[i], x.shape()));
        hessians[i].add(x.data_as<float>());
      }
    }
    runner_->release(model_.graph());
    return hessians;
  }

  LayerHessian new_hessian(size_t layer, const Shape& input_shape) {
    const onnx::NodeProto& node = conv(layer);
    const Tensor w = onnx_import::tensor_from_proto(initializer(graph_, node.input(1)), node.input(1));
    if (input_shape.size() != 4 || input_shape[0] != 1 || input_shape[1] != w.shape()[1]) {
      throw Error(ErrorCode::kUnsupported, "conv '" + node.name() + "': its input is not 1 x I x H x W");
    }
    return LayerHessian(conv_geometry(node, w.shape(), input_shape[2], input_shape[3]), kMaxPixelsPerImage,
                        layer_seed(options_.seed, nodes_[layer]));
  }

  onnx::ModelProto& model_;
  onnx::GraphProto& graph_;
  const std::vector<int>& nodes_;
  const PruneOptions& options_;
  std::vector<std::set<int>> ancestors_;
  std::vector<Tensor> images_;
  std::string input_name_;
  std::optional<ProgressiveRunner> runner_;
};

}  // namespace

void visit_layers_in_order(onnx::ModelProto& model, const std::vector<int>& nodes, const PruneOptions& options,
                           const LayerVisitor& visit) {
  LayerwiseCalibration(model, nodes, options).run(visit);
}

}  // namespace sparrow::compression
