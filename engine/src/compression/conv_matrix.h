// A convolution's weights as the matrix one-shot compression works on, and writing the result
// back into the model's initializers.
#pragma once

#include <string>

#include <Eigen/Dense>
#include <onnx/onnx_pb.h>

#include "sparrow/tensor.h"

namespace sparrow::compression {

// The initializer named `name`; sparrow::Error (kInternal) when there is none.
onnx::TensorProto& initializer(onnx::GraphProto& graph, const std::string& name);

// W (O x I x kH x kW) as the O x (kH·kW·I) matrix whose columns follow LayerHessian's order
// (kernel position major, input channel minor).
Eigen::MatrixXd weight_matrix(const Tensor& w);

// Conv node `node`'s weights as that matrix, and its weights replaced by `m`.
Eigen::MatrixXd conv_weight_matrix(const onnx::GraphProto& graph, int node);
void set_conv_weights(onnx::GraphProto& graph, int node, const Eigen::MatrixXd& m);

// Adds `shift` to conv `node`'s bias, giving it a bias initializer if it has none.
void add_to_conv_bias(onnx::GraphProto& graph, int node, const Eigen::VectorXd& shift);

}  // namespace sparrow::compression
