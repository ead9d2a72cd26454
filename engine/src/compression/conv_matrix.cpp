#include "compression/conv_matrix.h"

#include <vector>

#include "compression/model_file.h"
#include "onnx/tensor_proto.h"
#include "sparrow/error.h"

namespace sparrow::compression {

onnx::TensorProto& initializer(onnx::GraphProto& graph, const std::string& name) {
  for (auto& init : *graph.mutable_initializer()) {
    if (init.name() == name) return init;
  }
  throw Error(ErrorCode::kInternal, "no initializer '" + name + "'");
}

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

Eigen::MatrixXd conv_weight_matrix(const onnx::GraphProto& graph, int node) {
  const std::string& name = graph.node(node).input(1);
  for (const auto& init : graph.initializer()) {
    if (init.name() == name) return weight_matrix(onnx_import::tensor_from_proto(init, name));
  }
  throw Error(ErrorCode::kInternal, "no initializer '" + name + "'");
}

void set_conv_weights(onnx::GraphProto& graph, int node, const Eigen::MatrixXd& m) {
  onnx::TensorProto& proto = initializer(graph, graph.node(node).input(1));
  Tensor w = onnx_import::tensor_from_proto(proto, proto.name());
  const int64_t outputs = w.shape()[0], inputs = w.shape()[1], positions = w.size() / (outputs * inputs);
  float* v = w.data_as<float>();
  for (int64_t o = 0; o < outputs; ++o) {
    for (int64_t i = 0; i < inputs; ++i) {
      for (int64_t k = 0; k < positions; ++k) v[(o * inputs + i) * positions + k] = static_cast<float>(m(o, k * inputs + i));
    }
  }
  set_float_values(proto, v, static_cast<size_t>(w.size()));
}

void add_to_conv_bias(onnx::GraphProto& graph, int node_index, const Eigen::VectorXd& shift) {
  onnx::NodeProto& node = *graph.mutable_node(node_index);
  if (node.input_size() < 3 || node.input(2).empty()) {
    onnx::TensorProto* bias = graph.add_initializer();
    bias->set_name(node.input(1) + ".obs_bias");
    bias->set_data_type(onnx::TensorProto::FLOAT);
    bias->add_dims(shift.size());
    const std::vector<float> zeros(static_cast<size_t>(shift.size()), 0.0f);
    set_float_values(*bias, zeros.data(), zeros.size());
    if (node.input_size() < 3) node.add_input(bias->name());
    node.set_input(2, bias->name());
  }
  onnx::TensorProto& proto = initializer(graph, node.input(2));
  Tensor b = onnx_import::tensor_from_proto(proto, proto.name());
  for (int64_t o = 0; o < b.size(); ++o) b.data_as<float>()[o] += static_cast<float>(shift(o));
  set_float_values(proto, b.data_as<float>(), static_cast<size_t>(b.size()));
}

}  // namespace sparrow::compression
