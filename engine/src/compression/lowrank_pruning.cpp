#include "compression/lowrank_pruning.h"

#include <map>
#include <set>

#include "compression/conv_matrix.h"
#include "compression/layerwise_calibration.h"
#include "compression/lowrank_factorization.h"
#include "compression/model_file.h"
#include "compression/sparsegpt.h"
#include "sparrow/error.h"

namespace sparrow::compression {
namespace {

using Eigen::MatrixXd;

int64_t group_of(const onnx::NodeProto& node) {
  for (const auto& a : node.attribute()) {
    if (a.name() == "group") return a.i();
  }
  return 1;
}

// `base`, or base_2, base_3... the first not in `taken`, which then holds it.
std::string unique_name(const std::string& base, std::set<std::string>& taken) {
  std::string name = base;
  for (int n = 2; taken.count(name); ++n) name = base + "_" + std::to_string(n);
  taken.insert(name);
  return name;
}

void add_float_initializer(onnx::GraphProto& graph, const std::string& name, const std::vector<int64_t>& dims,
                           const std::vector<float>& values) {
  onnx::TensorProto* t = graph.add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t->add_dims(d);
  set_float_values(*t, values.data(), values.size());
}

// A matrix's rows as float values, row major: a 1x1 conv's O x I weights.
std::vector<float> row_major(const MatrixXd& m) {
  std::vector<float> values;
  values.reserve(static_cast<size_t>(m.size()));
  for (Eigen::Index r = 0; r < m.rows(); ++r) {
    for (Eigen::Index c = 0; c < m.cols(); ++c) values.push_back(static_cast<float>(m(r, c)));
  }
  return values;
}

class LowRankFactorizer {
 public:
  LowRankFactorizer(onnx::ModelProto& model, const PruneOptions& options)
      : model_(model), graph_(*model.mutable_graph()), options_(options) {}

  void run(const std::vector<LowRankLayer>& layers) {
    std::vector<int> nodes;
    for (const LowRankLayer& l : layers) nodes.push_back(l.node);
    size_t done = 0;
    visit_layers_in_order(model_, nodes, load_calibration_inputs(model_, options_), options_, DenseInputs::kSkip,
                          [&](size_t i, const LayerHessian& h) {
                            factor_layer(layers[i], h);
                            if (options_.progress) options_.progress(++done, layers.size());
                          });
    split_factored_convs();
  }

 private:
  // Fits A·B, and writes it into W meanwhile: the layers after this one are fitted on the
  // outputs of the model as factored, and the graph keeps its nodes until every layer is done.
  void factor_layer(const LowRankLayer& l, const LayerHessian& hessian) {
    const MatrixXd original = conv_weight_matrix(graph_, l.node), h = hessian.hessian();
    const Eigen::VectorXd mean = hessian.mean();
    const int64_t outputs = original.rows(), inputs = original.cols(), rank = lowrank_rank(outputs, inputs, options_.sparsity);
    // The centred second moment: the bias correction below restores the mean output, so the
    // rank is spent on the variation around it.
    const MatrixXd covariance = h - mean * mean.transpose();
    LowRankFactors f = lowrank_factor(original, covariance, rank);
    const MatrixXd product = f.a * f.b;
    l.report->rank = rank;
    l.report->shape = {outputs, inputs, 1, 1};
    l.report->weights = outputs * inputs;
    l.report->zeros = outputs * inputs - rank * (outputs + inputs);  // the weights the two convs do not have
    l.report->output_error = relative_output_error(original, product, covariance);
    l.report->weight_svd_output_error = relative_output_error(original, weight_svd(original, rank), covariance);
    add_to_conv_bias(graph_, l.node, (original - product) * mean);
    set_conv_weights(graph_, l.node, product);
    factors_[graph_.node(l.node).input(1)] = std::move(f);
  }

  // The data-free truncated SVD of W at the same rank, for the report.
  static MatrixXd weight_svd(const MatrixXd& w, int64_t rank) {
    const LowRankFactors f = lowrank_factor(w, MatrixXd::Zero(w.cols(), w.cols()), rank, 0);
    return f.a * f.b;
  }

  void split_factored_convs() {
    std::set<std::string> names;
    for (const auto& node : graph_.node()) {
      names.insert(node.name());
      names.insert(node.input().begin(), node.input().end());
      names.insert(node.output().begin(), node.output().end());
    }
    for (const auto& init : graph_.initializer()) names.insert(init.name());
    std::map<std::string, std::pair<std::string, std::string>> factor_names;  // weight -> (B, A) initializers
    for (const auto& [weight, f] : factors_) {
      const std::string b = unique_name(weight + ".lowrank_b", names), a = unique_name(weight + ".lowrank_a", names);
      add_float_initializer(graph_, b, {f.b.rows(), f.b.cols(), 1, 1}, row_major(f.b));
      add_float_initializer(graph_, a, {f.a.rows(), f.a.cols(), 1, 1}, row_major(f.a));
      factor_names[weight] = {b, a};
    }
    google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
    nodes.Swap(graph_.mutable_node());
    for (onnx::NodeProto& node : nodes) {
      const auto it = node.op_type() == "Conv" ? factor_names.find(node.input(1)) : factor_names.end();
      if (it == factor_names.end()) {
        *graph_.add_node() = std::move(node);
        continue;
      }
      split(node, it->second.first, it->second.second, names);
    }
    remove_initializers();
  }

  // B keeps the conv's strides and pads (a padded border gives B·0 = 0, then A·0 + bias, as W
  // gives); A is a plain 1x1 conv with the bias.
  void split(const onnx::NodeProto& node, const std::string& b_weight, const std::string& a_weight, std::set<std::string>& names) {
    const std::string base = node.name().empty() ? node.output(0) : node.name();
    const std::string middle = unique_name(node.output(0) + ".lowrank", names);
    onnx::NodeProto& first = *graph_.add_node();
    first = node;
    first.set_name(unique_name(base + ".lowrank_b", names));
    first.clear_input();
    first.add_input(node.input(0));
    first.add_input(b_weight);
    first.set_output(0, middle);
    onnx::NodeProto& second = *graph_.add_node();
    second.set_op_type("Conv");
    second.set_name(unique_name(base + ".lowrank_a", names));
    second.add_input(middle);
    second.add_input(a_weight);
    if (node.input_size() > 2) second.add_input(node.input(2));
    second.add_output(node.output(0));
    onnx::AttributeProto& kernel = *second.add_attribute();
    kernel.set_name("kernel_shape");
    kernel.set_type(onnx::AttributeProto::INTS);
    kernel.add_ints(1);
    kernel.add_ints(1);
  }

  // The factored weights, which no node reads any more.
  void remove_initializers() {
    auto& inits = *graph_.mutable_initializer();
    for (int i = inits.size() - 1; i >= 0; --i) {
      if (factors_.count(inits.Get(i).name())) inits.DeleteSubrange(i, 1);
    }
  }

  onnx::ModelProto& model_;
  onnx::GraphProto& graph_;
  const PruneOptions& options_;
  std::map<std::string, LowRankFactors> factors_;  // by weight initializer
};

}  // namespace

std::string lowrank_ineligibility(const onnx::NodeProto& node, const std::vector<int64_t>& weight_shape, double sparsity) {
  if (weight_shape.size() != 4 || weight_shape[2] != 1 || weight_shape[3] != 1) return "not a 1x1 conv";
  if (group_of(node) != 1) return "grouped conv";
  const int64_t outputs = weight_shape[0], inputs = weight_shape[1], rank = lowrank_rank(outputs, inputs, sparsity);
  if (rank < 1 || rank * (outputs + inputs) >= outputs * inputs) return "no rank would remove weights";
  return "";
}

void factor_by_lowrank(onnx::ModelProto& model, const std::vector<LowRankLayer>& layers, const PruneOptions& options) {
  if (options.calibration_images.empty()) {
    throw Error(ErrorCode::kInvalidArgument, "--method lowrank needs calibration images (--calibration DIR)");
  }
  LowRankFactorizer(model, options).run(layers);
}

}  // namespace sparrow::compression
