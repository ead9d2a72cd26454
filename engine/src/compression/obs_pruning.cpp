#include "compression/obs_pruning.h"

#include <map>
#include <optional>
#include <set>

#include "compression/calibrator.h"
#include "compression/layer_hessian.h"
#include "compression/magnitude_pruning.h"
#include "compression/model_file.h"
#include "compression/progressive_runner.h"
#include "compression/sparsegpt.h"
#include "onnx/tensor_proto.h"
#include "sparrow/error.h"

namespace sparrow::compression {
namespace {

// Output pixels per image that enter a layer's Hessian: every pixel of yolov5's layers at
// 80x80 and below, a sample of the larger early ones (enough: their X has at most a few hundred rows).
constexpr int64_t kMaxPixelsPerImage = 4096;

uint64_t layer_seed(uint64_t seed, int node) { return seed * 0x9e3779b97f4a7c15ull + static_cast<uint64_t>(node) + 1; }

onnx::TensorProto& initializer(onnx::GraphProto& graph, const std::string& name) {
  for (auto& init : *graph.mutable_initializer()) {
    if (init.name() == name) return init;
  }
  throw Error(ErrorCode::kInternal, "no initializer '" + name + "'");
}

// For each node, the layers (node indices) its output depends on, through any path.
std::vector<std::set<int>> layer_ancestors(const onnx::GraphProto& graph, const std::vector<ObsLayer>& layers) {
  std::set<int> targets;
  for (const ObsLayer& l : layers) targets.insert(l.node);
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

// W (O x I x kH x kW) as the O x (kH·kW·I) matrix whose columns follow the Hessian's order.
Eigen::MatrixXd weight_matrix(const Tensor& w) {
  const int64_t outputs = w.shape()[0], inputs = w.shape()[1], positions = w.size() / (outputs * inputs);
  Eigen::MatrixXd m(outputs, inputs * positions);
  const float* v = w.data_as<float>();
  for (int64_t o = 0; o < outputs; ++o) {
    for (int64_t i = 0; i < inputs; ++i) {
      for (int64_t k = 0; k < positions; ++k) m(o, k * inputs + i) = v[(o * inputs + i) * positions + k];
    }
  }
  return m;
}

void store_weight_matrix(const Eigen::MatrixXd& m, Tensor& w) {
  const int64_t outputs = w.shape()[0], inputs = w.shape()[1], positions = w.size() / (outputs * inputs);
  float* v = w.data_as<float>();
  for (int64_t o = 0; o < outputs; ++o) {
    for (int64_t i = 0; i < inputs; ++i) {
      for (int64_t k = 0; k < positions; ++k) v[(o * inputs + i) * positions + k] = static_cast<float>(m(o, k * inputs + i));
    }
  }
}

class ObsPruner {
 public:
  ObsPruner(onnx::ModelProto& model, const std::vector<ObsLayer>& layers, const PruneOptions& options)
      : model_(model), graph_(*model.mutable_graph()), layers_(layers), options_(options),
        ancestors_(layer_ancestors(model.graph(), layers)) {}

  void run() {
    std::set<int> pending;
    for (const ObsLayer& l : layers_) pending.insert(l.node);
    size_t done = 0;
    while (!pending.empty()) {
      const std::vector<ObsLayer> batch = ready_layers(pending);
      auto hessians = collect_hessians(batch);
      for (size_t i = 0; i < batch.size(); ++i) {
        prune_layer(batch[i], hessians[i]);
        pending.erase(batch[i].node);
        if (options_.progress) options_.progress(++done, layers_.size());
      }
    }
  }

 private:
  const onnx::NodeProto& conv(const ObsLayer& l) const { return graph_.node(l.node); }

  // The layers whose inputs no layer still to prune feeds: one pass computes all their inputs.
  std::vector<ObsLayer> ready_layers(const std::set<int>& pending) const {
    std::map<std::string, int> producer;
    for (int i = 0; i < graph_.node_size(); ++i) {
      for (const std::string& out : graph_.node(i).output()) producer[out] = i;
    }
    std::vector<ObsLayer> ready;
    for (const ObsLayer& l : layers_) {
      if (!pending.count(l.node)) continue;
      const auto it = producer.find(conv(l).input(0));
      bool free = true;
      if (it != producer.end()) {
        for (int a : ancestors_[static_cast<size_t>(it->second)]) free = free && !pending.count(a);
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

  std::vector<LayerHessian> collect_hessians(const std::vector<ObsLayer>& batch) {
    if (!runner_) load_images();
    std::vector<std::string> tensors;
    for (const ObsLayer& l : batch) tensors.push_back(conv(l).input(0));
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

  LayerHessian new_hessian(const ObsLayer& l, const Shape& input_shape) {
    const Tensor w = onnx_import::tensor_from_proto(initializer(graph_, conv(l).input(1)), conv(l).input(1));
    if (input_shape.size() != 4 || input_shape[0] != 1 || input_shape[1] != w.shape()[1]) {
      throw Error(ErrorCode::kUnsupported, "conv '" + conv(l).name() + "': its input is not 1 x I x H x W");
    }
    return LayerHessian(conv_geometry(conv(l), w.shape(), input_shape[2], input_shape[3]), kMaxPixelsPerImage,
                        layer_seed(options_.seed, l.node));
  }

  void prune_layer(const ObsLayer& l, const LayerHessian& hessian) {
    onnx::TensorProto& proto = initializer(graph_, conv(l).input(1));
    Tensor w = onnx_import::tensor_from_proto(proto, proto.name());
    const Eigen::MatrixXd original = weight_matrix(w), h = hessian.hessian();
    Eigen::MatrixXd pruned = original;
    SparseGptOptions sg;
    sg.sparsity = options_.sparsity;
    sg.run_length = w.shape()[1];
    sg.block = options_.block;
    sparsegpt_prune(pruned, h, sg);
    l.report->output_error = relative_output_error(original, pruned, h);
    l.report->magnitude_output_error = relative_output_error(original, magnitude_pruned(w), h);
    correct_bias(l, (original - pruned) * hessian.mean());
    store_weight_matrix(pruned, w);
    set_float_values(proto, w.data_as<float>(), static_cast<size_t>(w.size()));
  }

  Eigen::MatrixXd magnitude_pruned(const Tensor& w) const {
    Tensor copy = w.clone();
    prune_by_magnitude(copy.data_as<float>(), copy.shape(), options_.sparsity, options_.block);
    return weight_matrix(copy);
  }

  // bias += (W − W_pruned)·μ: the layer's mean output on the calibration inputs is kept.
  void correct_bias(const ObsLayer& l, const Eigen::VectorXd& shift) {
    onnx::NodeProto& node = *graph_.mutable_node(l.node);
    if (node.input_size() < 3 || node.input(2).empty()) {
      onnx::TensorProto* bias = graph_.add_initializer();
      bias->set_name(node.input(1) + ".obs_bias");
      bias->set_data_type(onnx::TensorProto::FLOAT);
      bias->add_dims(shift.size());
      const std::vector<float> zeros(static_cast<size_t>(shift.size()), 0.0f);
      set_float_values(*bias, zeros.data(), zeros.size());
      if (node.input_size() < 3) node.add_input(bias->name());
      node.set_input(2, bias->name());
    }
    onnx::TensorProto& proto = initializer(graph_, node.input(2));
    Tensor b = onnx_import::tensor_from_proto(proto, proto.name());
    for (int64_t o = 0; o < b.size(); ++o) b.data_as<float>()[o] += static_cast<float>(shift(o));
    set_float_values(proto, b.data_as<float>(), static_cast<size_t>(b.size()));
  }

  onnx::ModelProto& model_;
  onnx::GraphProto& graph_;
  const std::vector<ObsLayer>& layers_;
  const PruneOptions& options_;
  std::vector<std::set<int>> ancestors_;
  std::vector<Tensor> images_;
  std::string input_name_;
  std::optional<ProgressiveRunner> runner_;
};

}  // namespace

void prune_by_obs(onnx::ModelProto& model, const std::vector<ObsLayer>& layers, const PruneOptions& options) {
  if (options.calibration_images.empty()) {
    throw Error(ErrorCode::kInvalidArgument, "--method obs needs calibration images (--calibration DIR)");
  }
  ObsPruner(model, layers, options).run();
}

}  // namespace sparrow::compression
