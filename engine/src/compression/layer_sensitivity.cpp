#include "compression/layer_sensitivity.h"

#include <algorithm>

#include "compression/conv_matrix.h"
#include "compression/conv_roles.h"
#include "compression/head_error.h"
#include "compression/layer_hessian.h"
#include "compression/obs_update.h"
#include "compression/progressive_runner.h"
#include "compression/sparsegpt.h"
#include "sparrow/error.h"

namespace sparrow::compression {
namespace {

// Layers whose Hessians are built from one pass: bounds the activations kept at once.
constexpr size_t kLayersPerPass = 16;

std::vector<std::string> head_outputs(const onnx::GraphProto& graph) {
  std::vector<std::string> names;
  for (int node : head_convs(graph)) names.push_back(graph.node(node).output(0));
  return names;
}

// The head outputs of `model` on every image: [head][image].
std::vector<std::vector<Tensor>> run_heads(const onnx::ModelProto& model, const std::vector<std::string>& heads,
                                           const std::vector<Tensor>& images, const std::string& input_name,
                                           int num_cores) {
  ProgressiveRunner runner(images, input_name, num_cores);
  runner.advance(model, heads);
  std::vector<std::vector<Tensor>> out(heads.size());
  for (size_t h = 0; h < heads.size(); ++h) {
    for (size_t n = 0; n < images.size(); ++n) out[h].push_back(runner.tensor(heads[h], n).clone());
  }
  return out;
}

std::vector<LayerHessian> dense_hessians(const onnx::ModelProto& dense, const std::vector<int>& nodes,
                                         const std::vector<Tensor>& images, const std::string& input_name,
                                         const SensitivityOptions& options) {
  ProgressiveRunner runner(images, input_name, options.num_cores);
  std::vector<LayerHessian> hessians;
  for (size_t first = 0; first < nodes.size(); first += kLayersPerPass) {
    const size_t last = std::min(nodes.size(), first + kLayersPerPass);
    std::vector<std::string> inputs;
    for (size_t i = first; i < last; ++i) inputs.push_back(dense.graph().node(nodes[i]).input(0));
    runner.advance(dense, inputs);
    for (size_t i = first; i < last; ++i) {
      for (size_t n = 0; n < images.size(); ++n) {
        const Tensor& x = runner.tensor(inputs[i - first], n);
        if (hessians.size() == i) hessians.push_back(conv_hessian(dense.graph(), nodes[i], x.shape(), options.seed));
        hessians[i].add(x.data_as<float>());
      }
    }
    runner.release(dense.graph());
  }
  return hessians;
}

class LayerCurve {
 public:
  LayerCurve(const Eigen::MatrixXd& w, const LayerHessian& hessian, int64_t run_length, const SensitivityOptions& o)
      : weights_(w.size()) {
    const Eigen::MatrixXd h = hessian.hessian();
    Eigen::MatrixXd live = w;  // the factor zeroes the weights of inputs never seen, as pruning would
    const Eigen::MatrixXd u = inverse_hessian_factor(live, h, SparseGptOptions{}.damping);
    for (double s : o.candidates) {
      Eigen::MatrixXd pruned = live;
      SparseGptOptions sg;
      sg.sparsity = s;
      sg.run_length = run_length;
      sg.block = o.block;
      if (s > 0) sparsegpt_prune_factored(pruned, u, sg);
      errors_.push_back(s > 0 ? relative_output_error(w, pruned, h) : 0.0);
      if (s == o.reference_sparsity) {
        reference_ = pruned;
        bias_shift_ = (w - pruned) * hessian.mean();
        reference_error_ = errors_.back();
      }
    }
  }

  // The model with this layer alone pruned at the reference sparsity (its bias corrected).
  onnx::ModelProto pruned_model(const onnx::ModelProto& dense, int node) const {
    onnx::ModelProto model = dense;
    set_conv_weights(*model.mutable_graph(), node, reference_);
    add_to_conv_bias(*model.mutable_graph(), node, bias_shift_);
    return model;
  }

  LayerCost cost(double model_error, const std::vector<double>& candidates) const {
    LayerCost c;
    c.weights = weights_;
    c.sparsities = candidates;
    const double gain = reference_error_ > 0 ? model_error / reference_error_ : 0.0;
    for (double e : errors_) c.errors.push_back(gain * e);
    return c;
  }

 private:
  int64_t weights_;
  std::vector<double> errors_;
  Eigen::MatrixXd reference_;
  Eigen::VectorXd bias_shift_;
  double reference_error_ = 0;
};

}  // namespace

std::vector<LayerCost> measure_sensitivity(const onnx::ModelProto& dense, const std::vector<int>& nodes,
                                           const std::vector<Tensor>& images, const std::string& input_name,
                                           const SensitivityOptions& options) {
  if (options.candidates.empty() || options.candidates.front() != 0 ||
      std::find(options.candidates.begin(), options.candidates.end(), options.reference_sparsity) == options.candidates.end()) {
    throw Error(ErrorCode::kInternal, "sensitivity candidates must start at 0 and hold the reference sparsity");
  }
  const std::vector<std::string> heads = head_outputs(dense.graph());
  const auto dense_heads = run_heads(dense, heads, images, input_name, options.num_cores);
  const std::vector<LayerHessian> hessians = dense_hessians(dense, nodes, images, input_name, options);
  std::vector<LayerCost> costs;
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Eigen::MatrixXd w = conv_weight_matrix(dense.graph(), nodes[i]);
    const LayerCurve curve(w, hessians[i], hessians[i].geometry().channels, options);
    const auto heads_pruned = run_heads(curve.pruned_model(dense, nodes[i]), heads, images, input_name, options.num_cores);
    costs.push_back(curve.cost(head_error(dense_heads, heads_pruned), options.candidates));
    if (options.layer_done) options.layer_done();
  }
  return costs;
}

}  // namespace sparrow::compression
