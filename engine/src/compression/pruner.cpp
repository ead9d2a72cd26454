#include "compression/pruner.h"

#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "compression/conv_roles.h"
#include "compression/lowrank_pruning.h"
#include "compression/magnitude_pruning.h"
#include "compression/model_file.h"
#include "compression/obs_pruning.h"
#include "onnx/tensor_proto.h"
#include "sparrow/error.h"

namespace sparrow::compression {
namespace {

const std::set<std::string> kQuantizedOps = {"QuantizeLinear", "DequantizeLinear", "QLinearConv", "ConvInteger"};

void check_options(const PruneOptions& options) {
  if (!(options.sparsity >= 0 && options.sparsity < 1)) {
    std::ostringstream text;
    text << "sparsity " << options.sparsity << " is outside [0, 1): it is the fraction of each pruned layer's weights to zero";
    throw Error(ErrorCode::kInvalidArgument, text.str());
  }
  if (options.block != 1 && options.block != 4) {
    throw Error(ErrorCode::kInvalidArgument, "block " + std::to_string(options.block) +
                                                 " is not supported: 1 (any weight) or 4 (4 consecutive input channels)");
  }
  if (options.allocation == SparsityAllocation::kSensitivity && options.method != PruneMethod::kObs) {
    throw Error(ErrorCode::kInvalidArgument, "--allocation sensitivity needs --method obs (it measures each layer on calibration images)");
  }
}

void check_graph(const onnx::GraphProto& graph, const std::vector<std::string>& exclude) {
  bool has_conv = false;
  for (const onnx::NodeProto& node : graph.node()) {
    if (kQuantizedOps.count(node.op_type())) {
      throw Error(ErrorCode::kInvalidArgument, "the model is quantized already (node '" + node.name() + "' is " +
                                                   node.op_type() + "); prune the float model, with --int8 to quantize it after");
    }
    has_conv = has_conv || node.op_type() == "Conv";
  }
  if (!has_conv) throw Error(ErrorCode::kInvalidArgument, "the model has no Conv to prune");
  excluded_nodes(graph, exclude);  // throws for a pattern that names no node
}

std::string node_label(const onnx::NodeProto& node, int index) {
  return node.name().empty() ? node.op_type() + " #" + std::to_string(index) : node.name();
}

class Pruner {
 public:
  Pruner(onnx::ModelProto& model, const PruneOptions& options, const ActivationGrids* int8)
      : model_(model), graph_(*model.mutable_graph()), options_(options), int8_(int8) {
    index_initializers();
  }

  PruneReport run() {
    plan();
    if (report_.pruned_convs() == 0) throw Error(ErrorCode::kInvalidArgument, nothing_to_prune());
    if (options_.method == PruneMethod::kObs) {
      prune_by_obs(model_, fitted_layers<ObsLayer>(), options_, int8_, report_.int8_steps);
    } else if (options_.method == PruneMethod::kLowRank) {
      factor_by_lowrank(model_, fitted_layers<LowRankLayer>(), options_);
      index_initializers();  // factoring added the factors and removed the weights it replaced
      share_factored_reports();
    } else {
      std::set<std::string> done;
      for (LayerSparsity& layer : report_.layers) {
        if (layer.pruned && done.insert(layer.weight).second) prune(layer.weight);
      }
    }
    for (LayerSparsity& layer : report_.layers) count(layer);
    return report_;
  }

 private:
  // Each conv's role; a weight that a dense conv reads stays dense for every conv reading it.
  void plan() {
    const std::set<int> first = input_convs(graph_), heads = head_convs(graph_);
    const std::set<std::string> excluded = excluded_nodes(graph_, options_.exclude);
    std::set<std::string> dense_weights;
    for (int i = 0; i < graph_.node_size(); ++i) {
      const onnx::NodeProto& node = graph_.node(i);
      if (node.op_type() != "Conv") continue;
      LayerSparsity layer;
      layer.node = node_label(node, i);
      layer.weight = node.input_size() > 1 ? node.input(1) : "";
      layer.kept_dense_because = excluded.count(node.name()) ? "--exclude"
                                 : first.count(i)            ? "first conv"
                                 : heads.count(i)            ? "Detect head"
                                 : !float_weight(layer.weight) ? "weights not a float initializer"
                                 : options_.method == PruneMethod::kLowRank
                                     ? lowrank_ineligibility(node, weight_shape(layer.weight), options_.sparsity)
                                     : "";
      layer.pruned = layer.kept_dense_because.empty();
      if (!layer.pruned) dense_weights.insert(layer.weight);
      report_.layers.push_back(layer);
      nodes_.push_back(i);
    }
    for (LayerSparsity& layer : report_.layers) {
      if (layer.pruned && dense_weights.count(layer.weight)) {
        layer.pruned = false;
        layer.kept_dense_because = "weights shared with a dense conv";
      }
    }
  }

  void index_initializers() {
    initializers_.clear();
    for (int i = 0; i < graph_.initializer_size(); ++i) initializers_[graph_.initializer(i).name()] = i;
  }

  // The convs to prune, each weight once (its first reader's inputs fit it).
  template <typename Layer>
  std::vector<Layer> fitted_layers() {
    std::vector<Layer> layers;
    std::set<std::string> seen;
    for (size_t i = 0; i < report_.layers.size(); ++i) {
      LayerSparsity& layer = report_.layers[i];
      if (layer.pruned && seen.insert(layer.weight).second) layers.push_back({nodes_[i], &layer});
    }
    return layers;
  }

  // A factored weight's other readers share its factors, and so its report.
  void share_factored_reports() {
    std::map<std::string, const LayerSparsity*> fitted;
    for (LayerSparsity& layer : report_.layers) {
      if (!layer.pruned) continue;
      const auto [it, first] = fitted.emplace(layer.weight, &layer);
      if (first) continue;
      const LayerSparsity& source = *it->second;
      layer.shape = source.shape;
      layer.weights = source.weights;
      layer.zeros = source.zeros;
      layer.rank = source.rank;
    }
  }

  std::vector<int64_t> weight_shape(const std::string& name) const {
    const auto& dims = graph_.initializer(initializers_.at(name)).dims();
    return {dims.begin(), dims.end()};
  }

  bool float_weight(const std::string& name) const {
    const auto it = initializers_.find(name);
    return it != initializers_.end() && graph_.initializer(it->second).data_type() == onnx::TensorProto::FLOAT &&
           graph_.initializer(it->second).dims_size() >= 3;
  }

  Tensor weight_tensor(const std::string& name) const {
    const auto it = initializers_.find(name);
    if (it == initializers_.end()) return {};
    return onnx_import::tensor_from_proto(graph_.initializer(it->second), "initializer '" + name + "'");
  }

  void prune(const std::string& name) {
    Tensor w = weight_tensor(name);
    prune_by_magnitude(w.data_as<float>(), w.shape(), options_.sparsity, options_.block);
    set_float_values(*graph_.mutable_initializer(initializers_.at(name)), w.data_as<float>(), static_cast<size_t>(w.size()));
  }

  void count(LayerSparsity& layer) const {
    if (!float_weight(layer.weight)) return;
    const Tensor w = weight_tensor(layer.weight);
    layer.shape = w.shape();
    layer.weights = w.size();
    const float* values = w.data_as<float>();
    for (int64_t i = 0; i < w.size(); ++i) layer.zeros += values[i] == 0.0f;
  }

  std::string nothing_to_prune() const {
    std::map<std::string, int> reasons;
    for (const LayerSparsity& layer : report_.layers) ++reasons[layer.kept_dense_because];
    std::string text = options_.method == PruneMethod::kLowRank ? "no Conv to factor: every one is kept as it is ("
                                                                : "no Conv to prune: every one is kept dense (";
    for (auto it = reasons.begin(); it != reasons.end(); ++it) {
      text += (it == reasons.begin() ? "" : ", ") + std::to_string(it->second) + " " + it->first;
    }
    return text + ")";
  }

  onnx::ModelProto& model_;
  onnx::GraphProto& graph_;
  const PruneOptions& options_;
  const ActivationGrids* int8_;
  std::vector<int> nodes_;  // each report layer's node index
  std::map<std::string, int> initializers_;
  PruneReport report_;
};

}  // namespace

PruneReport prune_model(onnx::ModelProto& model, const PruneOptions& options, const ActivationGrids* int8) {
  check_options(options);
  check_graph(model.graph(), options.exclude);
  return Pruner(model, options, int8).run();
}

}  // namespace sparrow::compression
