// The second moment of a convolution's im2col input, H = X·Xᵀ / n, the Hessian of the layer's
// squared output error that one-shot pruning (compress --method obs) minimises, and the mean
// input column, which corrects the bias for the mean output shift pruning leaves.
#pragma once

#include <cstdint>
#include <vector>

#include <Eigen/Dense>
#include <onnx/onnx_pb.h>

namespace sparrow::compression {

// Where each output pixel of a 2-D convolution reads its input. Columns of X, and of the weight
// matrix, are ordered kernel position major, input channel minor (k * channels + c), so that a
// block of consecutive input channels at one kernel position is a contiguous run of columns.
struct ConvGeometry {
  int64_t channels = 0, kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1, pad_top = 0, pad_left = 0, dilation_h = 1, dilation_w = 1;
  int64_t in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  int64_t rows() const { return channels * kernel_h * kernel_w; }
  int64_t pixels() const { return out_h * out_w; }
};

// From the Conv node's attributes, its O x I x kH x kW weight shape and its input's spatial size.
// sparrow::Error (kUnsupported) for what one-shot pruning does not handle: a grouped conv, one
// that is not 2-D, auto_pad.
ConvGeometry conv_geometry(const onnx::NodeProto& conv, const std::vector<int64_t>& weight_shape, int64_t in_h,
                           int64_t in_w);

class LayerHessian {
 public:
  // At most `max_pixels` output pixels per image enter X, chosen at random from `seed` where the
  // layer has more: early high-resolution layers would otherwise cost far more than they add.
  LayerHessian(const ConvGeometry& geometry, int64_t max_pixels, uint64_t seed);

  // One image's input: channels x in_h x in_w floats. `dense_input`, when given, is the same
  // image's input to this layer in the uncompressed model (the same pixels are sampled): it
  // lets pruning aim at the dense model's output rather than at this layer's own, so that the
  // error earlier layers left is corrected here instead of carried on.
  void add(const float* input, const float* dense_input = nullptr);

  Eigen::MatrixXd hessian() const;   // X·Xᵀ / n, full (both triangles)
  Eigen::VectorXd mean() const;      // the mean column of X
  bool has_dense() const { return dense_columns_ > 0; }
  Eigen::MatrixXd cross() const;      // X_dense·Xᵀ / n
  Eigen::VectorXd dense_mean() const; // the mean column of X_dense
  int64_t columns() const { return columns_; }
  const ConvGeometry& geometry() const { return geometry_; }

 private:
  std::vector<int64_t> sample_pixels();
  Eigen::MatrixXf im2col(const float* input, const std::vector<int64_t>& pixels) const;

  ConvGeometry geometry_;
  int64_t max_pixels_;
  uint64_t rng_state_;
  Eigen::MatrixXd sum_xx_;  // lower triangle
  Eigen::VectorXd sum_x_;
  Eigen::MatrixXd sum_dx_;  // X_dense·Xᵀ, once a dense input is given
  Eigen::VectorXd sum_d_;
  int64_t columns_ = 0, dense_columns_ = 0;
};

// The Hessian of conv node `node` of `graph` for inputs of `input_shape` (1 x I x H x W), with
// one-shot compression's pixel budget and a seed derived from `seed` and the node.
// sparrow::Error (kUnsupported) for what conv_geometry refuses or an input of another shape.
LayerHessian conv_hessian(const onnx::GraphProto& graph, int node, const std::vector<int64_t>& input_shape, uint64_t seed);

}  // namespace sparrow::compression
