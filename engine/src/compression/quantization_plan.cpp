#include "compression/quantization_plan.h"

#include <set>

#include "compression/conv_roles.h"
#include "sparrow/error.h"

namespace sparrow::compression {
namespace {

const std::set<std::string> kElementwise = {"Sigmoid", "Relu", "LeakyRelu", "HardSwish", "HardSigmoid", "Clip", "Tanh"};
const std::set<std::string> kQuantizedOps = {"QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul",
                                             "ConvInteger", "MatMulInteger", "QLinearAdd", "QLinearMul", "QLinearSigmoid",
                                             "QLinearLeakyRelu", "QLinearConcat", "DynamicQuantizeLinear"};

void check_not_quantized(const onnx::GraphProto& graph) {
  for (const onnx::NodeProto& node : graph.node()) {
    if (kQuantizedOps.count(node.op_type())) {
      throw Error(ErrorCode::kInvalidArgument, "the model is quantized already (node '" + node.name() + "' is " +
                                                   node.op_type() + "); give --int8 a float model");
    }
  }
}

std::string node_label(const onnx::NodeProto& node, int index) {
  return node.name().empty() ? node.op_type() + " #" + std::to_string(index) : node.name();
}

std::string attribute_string(const onnx::NodeProto& node, const std::string& name, const std::string& fallback) {
  for (const auto& a : node.attribute()) {
    if (a.name() == name) return a.s();
  }
  return fallback;
}

class Planner {
 public:
  Planner(const onnx::GraphProto& graph, const std::vector<std::string>& exclude) : graph_(graph) {
    for (const auto& init : graph.initializer()) constants_.insert(init.name());
    for (const auto& out : graph.output()) outputs_.insert(out.name());
    for (int i = 0; i < graph.node_size(); ++i) {
      const onnx::NodeProto& node = graph.node(i);
      if (node.op_type() == "Constant") constants_.insert(node.output(0));
      for (const std::string& out : node.output()) producer_[out] = i;
      for (const std::string& in : node.input()) consumers_[in].push_back(i);
    }
    excluded_ = excluded_nodes(graph, exclude);
  }

  QuantizationPlan run() {
    const std::set<int> heads = head_convs(graph_);
    for (int i = 0; i < graph_.node_size(); ++i) visit(i, heads.count(i) > 0);
    return plan_;
  }

 private:
  bool quantized(const std::string& tensor) const { return grid_.count(tensor) > 0; }

  bool all_quantized(const onnx::NodeProto& node) const {
    for (const std::string& in : node.input()) {
      if (!quantized(in)) return false;
    }
    return node.input_size() > 0;
  }

  void own_grid(const std::string& tensor) {
    if (quantized(tensor) || outputs_.count(tensor) || constants_.count(tensor)) return;
    grid_.insert(tensor);
    plan_.calibrated.push_back(tensor);
  }

  void visit(int index, bool in_head) {
    const onnx::NodeProto& node = graph_.node(index);
    const std::string& op = node.op_type();
    const std::string label = node_label(node, index);
    if (op == "Conv") {
      const bool weights_constant = node.input_size() > 1 && constants_.count(node.input(1));
      if (excluded_.count(node.name()) || !weights_constant || constants_.count(node.input(0))) {
        plan_.float_convs.push_back(label);
        return;
      }
      if (in_head) {
        plan_.float_convs.push_back(label);
        plan_.weight_only_convs.push_back(index);
        return;
      }
      own_grid(node.input(0));
      own_grid(node.output(0));
      plan_.int8_convs.push_back(index);
    } else if (excluded_.count(node.name()) || node.output_size() != 1) {
      return;
    } else if (silu_gate(node)) {
      return;
    } else if (op == "Mul" && silu_of_quantized(node)) {
      own_grid(node.output(0));
    } else if (kElementwise.count(op) && quantized(node.input(0))) {
      own_grid(node.output(0));
    } else if ((op == "Add" || op == "Mul" || op == "Concat") && all_quantized(node)) {
      own_grid(node.output(0));
    } else if ((op == "MaxPool" || (op == "Resize" && attribute_string(node, "mode", "nearest") == "nearest")) &&
               quantized(node.input(0)) && !outputs_.count(node.output(0))) {
      const auto shared = plan_.shares_grid_of.find(node.input(0));
      plan_.shares_grid_of[node.output(0)] = shared == plan_.shares_grid_of.end() ? node.input(0) : shared->second;
      grid_.insert(node.output(0));
    } else {
      return;
    }
    if (quantized(node.output(0))) plan_.int8_nodes.push_back(label);
  }

  // SiLU, x * Sigmoid(x) of a quantized x, is one 8-bit function of x: quantized once, at the
  // Mul. A grid on the sigmoid too would round every activation twice (0.3556 against 0.3579
  // coco128 AP50-95 on yolov5n).
  bool silu_gate(const onnx::NodeProto& sigmoid) const {
    if (sigmoid.op_type() != "Sigmoid" || !quantized(sigmoid.input(0))) return false;
    const auto users = consumers_.find(sigmoid.output(0));
    if (users == consumers_.end()) return false;
    for (int i : users->second) {
      const onnx::NodeProto& mul = graph_.node(i);
      if (mul.op_type() != "Mul" || mul.input_size() != 2) return false;
      if (mul.input(0) != sigmoid.input(0) && mul.input(1) != sigmoid.input(0)) return false;
    }
    return true;
  }

  bool silu_of_quantized(const onnx::NodeProto& mul) const {
    for (int k = 0; k < 2 && mul.input_size() == 2; ++k) {
      const auto gate = producer_.find(mul.input(k));
      if (gate == producer_.end()) continue;
      const onnx::NodeProto& sigmoid = graph_.node(gate->second);
      if (silu_gate(sigmoid) && sigmoid.input(0) == mul.input(1 - k)) return true;
    }
    return false;
  }

  const onnx::GraphProto& graph_;
  std::set<std::string> constants_, outputs_, excluded_, grid_;
  std::map<std::string, int> producer_;
  std::map<std::string, std::vector<int>> consumers_;
  QuantizationPlan plan_;
};

}  // namespace

QuantizationPlan plan_quantization(const onnx::GraphProto& graph, const std::vector<std::string>& exclude) {
  check_not_quantized(graph);
  return Planner(graph, exclude).run();
}

}  // namespace sparrow::compression
