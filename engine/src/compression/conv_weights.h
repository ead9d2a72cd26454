// A convolution's weights and bias as layer-wise compression reads and rewrites them: the
// O x I x kH x kW weight tensor as an O x (kH·kW·I) matrix whose columns follow the layer
// Hessian's order, and the bias that absorbs a layer's mean output shift.
#pragma once

#include <string>

#include <Eigen/Dense>
#include <onnx/onnx_pb.h>

#include "sparrow/tensor.h"

namespace sparrow::compression {

// The initializer named `name`; sparrow::Error (kInternal) when there is none.
onnx::TensorProto& initializer(onnx::GraphProto& graph, const std::string& name);

// W (O x I x kH x kW) as the O x (kH·kW·I) matrix whose columns follow the Hessian's order
// (kernel position major, input channel minor), and back.
Eigen::MatrixXd weight_matrix(const Tensor& w);
void store_weight_matrix(const Eigen::MatrixXd& m, Tensor& w);

// bias += shift for the Conv at `node` (a zero bias initializer is added to a conv without one).
void add_to_bias(onnx::GraphProto& graph, int node, const Eigen::VectorXd& shift);

}  // namespace sparrow::compression
