#include "compression/obs_pruning.h"

#include "compression/conv_matrix.h"
#include "compression/layerwise_calibration.h"
#include "compression/magnitude_pruning.h"
#include "compression/model_file.h"
#include "compression/sparsegpt.h"
#include "onnx/tensor_proto.h"
#include "sparrow/error.h"

namespace sparrow::compression {
namespace {

class ObsPruner {
 public:
  ObsPruner(onnx::ModelProto& model, const PruneOptions& options)
      : model_(model), graph_(*model.mutable_graph()), options_(options) {}

  void run(const std::vector<ObsLayer>& layers) {
    std::vector<int> nodes;
    for (const ObsLayer& l : layers) nodes.push_back(l.node);
    visit_layers_in_order(model_, nodes, options_, [&](size_t i, const LayerHessian& h) { prune_layer(layers[i], h); });
  }

 private:
  const onnx::NodeProto& conv(const ObsLayer& l) const { return graph_.node(l.node); }

  void prune_layer(const ObsLayer& l, const LayerHessian& hessian) {
    const onnx::TensorProto& proto = initializer(graph_, conv(l).input(1));
    const Tensor w = onnx_import::tensor_from_proto(proto, proto.name());
    const Eigen::MatrixXd original = weight_matrix(w), h = hessian.hessian();
    Eigen::MatrixXd pruned = original;
    SparseGptOptions sg;
    sg.sparsity = options_.sparsity;
    sg.run_length = w.shape()[1];
    sg.block = options_.block;
    sparsegpt_prune(pruned, h, sg);
    l.report->output_error = relative_output_error(original, pruned, h);
    l.report->magnitude_output_error = relative_output_error(original, magnitude_pruned(w), h);
    add_to_conv_bias(graph_, l.node, (original - pruned) * hessian.mean());  // keeps each channel's mean output
    set_conv_weights(graph_, l.node, pruned);
  }

  Eigen::MatrixXd magnitude_pruned(const Tensor& w) const {
    Tensor copy = w.clone();
    prune_by_magnitude(copy.data_as<float>(), copy.shape(), options_.sparsity, options_.block);
    return weight_matrix(copy);
  }

  onnx::ModelProto& model_;
  onnx::GraphProto& graph_;
  const PruneOptions& options_;
};

}  // namespace

void prune_by_obs(onnx::ModelProto& model, const std::vector<ObsLayer>& layers, const PruneOptions& options) {
  if (options.calibration_images.empty()) {
    throw Error(ErrorCode::kInvalidArgument, "--method obs needs calibration images (--calibration DIR)");
  }
  ObsPruner(model, options).run(layers);
}

}  // namespace sparrow::compression
