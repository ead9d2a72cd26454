#include "compression/obs_pruning.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "compression/calibrator.h"
#include "compression/conv_matrix.h"
#include "compression/gptq.h"
#include "compression/layer_hessian.h"
#include "compression/layer_sensitivity.h"
#include "compression/magnitude_pruning.h"
#include "compression/masked_least_squares.h"
#include "compression/model_file.h"
#include "compression/progressive_runner.h"
#include "compression/sparsegpt.h"
#include "onnx/tensor_proto.h"
#include "sparrow/error.h"

namespace sparrow::compression {
namespace {

// Images whose model runs measure each layer's sensitivity: each layer costs a model compile
// and a run per image.
constexpr size_t kSensitivityImages = 16;

// Each layer may take any of these: 0, the target, and a grid up to 95 %.
std::vector<double> sensitivity_candidates(double target) {
  std::vector<double> c = {0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, target};
  std::sort(c.begin(), c.end());
  c.erase(std::unique(c.begin(), c.end()), c.end());
  return c;
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

// The unpruned weights that best reproduce the dense model's layer output from this layer's
// inputs: argmin ||W·X − W_dense·X_dense||² + λ||W − W_dense||² = W_dense·(C + λI)·(H + λI)⁻¹,
// with C = X_dense·Xᵀ / n and λ SparseGPT's damping. The damping pulls towards W_dense, not
// towards 0: where the inputs have not moved (C = H) the weights stay exactly as they were.
Eigen::MatrixXd dense_output_fit(const Eigen::MatrixXd& dense, const LayerHessian& hessian, double damping) {
  Eigen::MatrixXd h = hessian.hessian();
  for (Eigen::Index j = 0; j < h.rows(); ++j) h(j, j) = h(j, j) == 0 ? 1 : h(j, j);
  const double lambda = damping * h.diagonal().mean();
  h.diagonal().array() += lambda;
  const Eigen::LLT<Eigen::MatrixXd> llt(h);
  if (llt.info() != Eigen::Success) throw Error(ErrorCode::kInternal, "a layer Hessian is not positive definite after damping");
  Eigen::MatrixXd c = hessian.cross().transpose();
  c.diagonal().array() += lambda;
  return llt.solve(c * dense.transpose()).transpose();
}

class ObsPruner {
 public:
  ObsPruner(onnx::ModelProto& model, const std::vector<ObsLayer>& layers, const PruneOptions& options,
            std::map<std::string, std::vector<float>>& int8_steps)
      : int8_steps_(int8_steps), model_(model), graph_(*model.mutable_graph()), dense_model_(model), layers_(layers), options_(options),
        ancestors_(layer_ancestors(model.graph(), layers)) {}

  void run() {
    if (allocating()) allocate();
    std::set<int> pending;
    for (const ObsLayer& l : layers_) pending.insert(l.node);
    while (!pending.empty()) {
      const std::vector<ObsLayer> batch = ready_layers(pending);
      auto hessians = collect_hessians(batch);
      for (size_t i = 0; i < batch.size(); ++i) {
        prune_layer(batch[i], hessians[i]);
        pending.erase(batch[i].node);
        step();
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

  // At sparsity 0 (GPTQ alone) there is nothing to spread.
  bool allocating() const { return options_.allocation == SparsityAllocation::kSensitivity && options_.sparsity > 0; }

  void step() {
    const size_t steps = layers_.size() * (allocating() ? 2 : 1);
    if (options_.progress) options_.progress(++done_, steps);
  }

  // Per-layer sparsities that reach the global target at the least estimated cost to the model,
  // measured on the first kSensitivityImages calibration images.
  void allocate() {
    if (!runner_) load_images();
    const std::vector<Tensor> images(images_.begin(), images_.begin() + static_cast<long>(std::min(images_.size(), kSensitivityImages)));
    SensitivityOptions o;
    o.reference_sparsity = options_.sparsity;
    o.block = options_.block;
    o.candidates = sensitivity_candidates(options_.sparsity);
    o.seed = options_.seed;
    o.num_cores = options_.num_cores;
    o.layer_done = [this] { step(); };
    std::vector<int> nodes;
    for (const ObsLayer& l : layers_) nodes.push_back(l.node);
    const std::vector<LayerCost> costs = measure_sensitivity(dense_model_, nodes, images, input_name_, o);
    const std::vector<double> chosen = allocate_sparsity(costs, options_.sparsity);
    for (size_t i = 0; i < layers_.size(); ++i) {
      sparsity_[layers_[i].node] = chosen[i];
      const auto ref = std::find(o.candidates.begin(), o.candidates.end(), options_.sparsity) - o.candidates.begin();
      layers_[i].report->model_error = costs[i].errors[static_cast<size_t>(ref)];
    }
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
    dense_runner_.emplace(images_, input_name_, options_.num_cores);
  }

  std::vector<LayerHessian> collect_hessians(const std::vector<ObsLayer>& batch) {
    if (!runner_) load_images();
    std::vector<std::string> tensors;
    for (const ObsLayer& l : batch) tensors.push_back(conv(l).input(0));
    runner_->advance(model_, tensors);
    dense_runner_->advance(dense_model_, tensors);
    std::vector<LayerHessian> hessians;
    for (size_t i = 0; i < batch.size(); ++i) {
      for (size_t n = 0; n < images_.size(); ++n) {
        const Tensor& x = runner_->tensor(tensors[i], n);
        if (hessians.size() == i) hessians.push_back(conv_hessian(graph_, batch[i].node, x.shape(), options_.seed));
        hessians[i].add(x.data_as<float>(), dense_runner_->tensor(tensors[i], n).data_as<float>());
      }
    }
    runner_->release(model_.graph());
    dense_runner_->release(dense_model_.graph());
    return hessians;
  }

  void prune_layer(const ObsLayer& l, const LayerHessian& hessian) {
    const onnx::TensorProto& proto = initializer(graph_, conv(l).input(1));
    const Tensor w = onnx_import::tensor_from_proto(proto, proto.name());
    SparseGptOptions sg;
    sg.sparsity = sparsity_.count(l.node) ? sparsity_.at(l.node) : options_.sparsity;
    sg.run_length = w.shape()[1];
    sg.block = options_.block;
    const Eigen::MatrixXd dense = weight_matrix(w), h = hessian.hessian();
    const Eigen::MatrixXd original = dense_output_fit(dense, hessian, sg.damping);
    Eigen::MatrixXd pruned = original;
    sparsegpt_prune(pruned, h, sg);
    refit_kept_weights(pruned, original, h, sg.damping);
    if (options_.int8_weights) round_to_int8(l, pruned, h, sg.damping);
    l.report->output_error = relative_output_error(original, pruned, h);
    l.report->magnitude_output_error = relative_output_error(original, magnitude_pruned(w, sg.sparsity), h);
    add_to_conv_bias(graph_, l.node, dense * hessian.dense_mean() - pruned * hessian.mean());
    set_conv_weights(graph_, l.node, pruned);
  }

  // GPTQ on the kept weights; the QDQ writer is handed the steps, so it keeps these values.
  void round_to_int8(const ObsLayer& l, Eigen::MatrixXd& w, const Eigen::MatrixXd& h, double damping) {
    const Eigen::VectorXd steps = symmetric_int8_steps(w);
    gptq_quantize(w, h, steps, damping);
    std::vector<float>& out = int8_steps_[conv(l).input(1)];
    out.clear();
    for (Eigen::Index r = 0; r < steps.size(); ++r) out.push_back(static_cast<float>(steps(r)));
  }

  Eigen::MatrixXd magnitude_pruned(const Tensor& w, double sparsity) const {
    Tensor copy = w.clone();
    prune_by_magnitude(copy.data_as<float>(), copy.shape(), sparsity, options_.block);
    return weight_matrix(copy);
  }

  std::map<std::string, std::vector<float>>& int8_steps_;
  onnx::ModelProto& model_;
  onnx::GraphProto& graph_;
  const onnx::ModelProto dense_model_;  // the model before pruning, whose layer outputs are the targets
  const std::vector<ObsLayer>& layers_;
  const PruneOptions& options_;
  std::vector<std::set<int>> ancestors_;
  std::vector<Tensor> images_;
  std::string input_name_;
  std::optional<ProgressiveRunner> runner_, dense_runner_;
  std::map<int, double> sparsity_;  // node -> its share of the target, when allocated by sensitivity
  size_t done_ = 0;
};

}  // namespace

void prune_by_obs(onnx::ModelProto& model, const std::vector<ObsLayer>& layers, const PruneOptions& options,
                  std::map<std::string, std::vector<float>>& int8_steps) {
  if (options.calibration_images.empty()) {
    throw Error(ErrorCode::kInvalidArgument, "--method obs needs calibration images (--calibration DIR)");
  }
  ObsPruner(model, layers, options, int8_steps).run();
}

}  // namespace sparrow::compression
