#include "compression/layer_hessian.h"

#include <algorithm>
#include <numeric>

#include "sparrow/error.h"

namespace sparrow::compression {
namespace {

// Output pixels per image that enter a layer's Hessian: every pixel of yolov5's layers at
// 80x80 and below, a sample of the larger early ones (enough: their X has at most a few hundred rows).
constexpr int64_t kMaxPixelsPerImage = 4096;

std::vector<int64_t> ints_attribute(const onnx::NodeProto& node, const std::string& name, std::vector<int64_t> fallback) {
  for (const auto& a : node.attribute()) {
    if (a.name() == name) return {a.ints().begin(), a.ints().end()};
  }
  return fallback;
}

int64_t int_attribute(const onnx::NodeProto& node, const std::string& name, int64_t fallback) {
  for (const auto& a : node.attribute()) {
    if (a.name() == name) return a.i();
  }
  return fallback;
}

void check_supported(const onnx::NodeProto& conv, const std::vector<int64_t>& weight_shape) {
  const std::string what = "one-shot pruning of conv '" + conv.name() + "': ";
  if (weight_shape.size() != 4) throw Error(ErrorCode::kUnsupported, what + "only 2-D convolutions are supported");
  if (int_attribute(conv, "group", 1) != 1) throw Error(ErrorCode::kUnsupported, what + "grouped convolutions are not supported");
  for (const auto& a : conv.attribute()) {
    if (a.name() == "auto_pad" && a.s() != "NOTSET") {
      throw Error(ErrorCode::kUnsupported, what + "auto_pad " + a.s() + " is not supported (explicit pads are)");
    }
  }
}

// A splitmix64 step: a seeded stream that is the same on every platform and standard library.
uint64_t next_random(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

ConvGeometry conv_geometry(const onnx::NodeProto& conv, const std::vector<int64_t>& weight_shape, int64_t in_h,
                           int64_t in_w) {
  check_supported(conv, weight_shape);
  const auto strides = ints_attribute(conv, "strides", {1, 1});
  const auto dilations = ints_attribute(conv, "dilations", {1, 1});
  const auto pads = ints_attribute(conv, "pads", {0, 0, 0, 0});
  ConvGeometry g;
  g.channels = weight_shape[1];
  g.kernel_h = weight_shape[2];
  g.kernel_w = weight_shape[3];
  g.stride_h = strides.at(0);
  g.stride_w = strides.at(1);
  g.dilation_h = dilations.at(0);
  g.dilation_w = dilations.at(1);
  g.pad_top = pads.at(0);
  g.pad_left = pads.at(1);
  g.in_h = in_h;
  g.in_w = in_w;
  g.out_h = (in_h + pads.at(0) + pads.at(2) - g.dilation_h * (g.kernel_h - 1) - 1) / g.stride_h + 1;
  g.out_w = (in_w + pads.at(1) + pads.at(3) - g.dilation_w * (g.kernel_w - 1) - 1) / g.stride_w + 1;
  return g;
}

LayerHessian::LayerHessian(const ConvGeometry& geometry, int64_t max_pixels, uint64_t seed)
    : geometry_(geometry), max_pixels_(max_pixels), rng_state_(seed),
      sum_xx_(Eigen::MatrixXd::Zero(geometry.rows(), geometry.rows())), sum_x_(Eigen::VectorXd::Zero(geometry.rows())) {}

// A partial Fisher-Yates shuffle: max_pixels distinct pixels, sorted so im2col reads in order.
std::vector<int64_t> LayerHessian::sample_pixels() {
  std::vector<int64_t> pixels(static_cast<size_t>(geometry_.pixels()));
  std::iota(pixels.begin(), pixels.end(), 0);
  if (geometry_.pixels() <= max_pixels_) return pixels;
  for (int64_t i = 0; i < max_pixels_; ++i) {
    const auto j = i + static_cast<int64_t>(next_random(rng_state_) % static_cast<uint64_t>(geometry_.pixels() - i));
    std::swap(pixels[static_cast<size_t>(i)], pixels[static_cast<size_t>(j)]);
  }
  pixels.resize(static_cast<size_t>(max_pixels_));
  std::sort(pixels.begin(), pixels.end());
  return pixels;
}

Eigen::MatrixXf LayerHessian::im2col(const float* input, const std::vector<int64_t>& pixels) const {
  const ConvGeometry& g = geometry_;
  Eigen::MatrixXf x(g.rows(), static_cast<Eigen::Index>(pixels.size()));
  for (size_t p = 0; p < pixels.size(); ++p) {
    const int64_t oy = pixels[p] / g.out_w, ox = pixels[p] % g.out_w;
    float* column = x.col(static_cast<Eigen::Index>(p)).data();
    for (int64_t ky = 0; ky < g.kernel_h; ++ky) {
      const int64_t y = oy * g.stride_h - g.pad_top + ky * g.dilation_h;
      for (int64_t kx = 0; kx < g.kernel_w; ++kx) {
        const int64_t xx = ox * g.stride_w - g.pad_left + kx * g.dilation_w;
        float* out = column + (ky * g.kernel_w + kx) * g.channels;
        const bool inside = y >= 0 && y < g.in_h && xx >= 0 && xx < g.in_w;
        for (int64_t c = 0; c < g.channels; ++c) out[c] = inside ? input[(c * g.in_h + y) * g.in_w + xx] : 0.0f;
      }
    }
  }
  return x;
}

void LayerHessian::add(const float* input, const float* dense_input) {
  const std::vector<int64_t> pixels = sample_pixels();
  const Eigen::MatrixXf x = im2col(input, pixels);
  // One image's product in float (a few thousand columns at most), summed over images in double.
  Eigen::MatrixXf xx = Eigen::MatrixXf::Zero(x.rows(), x.rows());
  xx.selfadjointView<Eigen::Lower>().rankUpdate(x);
  sum_xx_.triangularView<Eigen::Lower>() += xx.cast<double>();
  sum_x_ += x.rowwise().sum().cast<double>();
  columns_ += x.cols();
  if (!dense_input) return;
  if (dense_columns_ != columns_ - x.cols()) throw Error(ErrorCode::kInternal, "a layer Hessian got dense inputs for some images only");
  const Eigen::MatrixXf d = im2col(dense_input, pixels);
  if (sum_dx_.size() == 0) {
    sum_dx_ = Eigen::MatrixXd::Zero(x.rows(), x.rows());
    sum_d_ = Eigen::VectorXd::Zero(x.rows());
  }
  sum_dx_.noalias() += (d * x.transpose()).cast<double>();
  sum_d_ += d.rowwise().sum().cast<double>();
  dense_columns_ += d.cols();
}

Eigen::MatrixXd LayerHessian::hessian() const {
  if (columns_ == 0) throw Error(ErrorCode::kInternal, "a layer Hessian saw no input");
  Eigen::MatrixXd h = sum_xx_.selfadjointView<Eigen::Lower>();
  return h / static_cast<double>(columns_);
}

Eigen::MatrixXd LayerHessian::cross() const {
  if (!has_dense()) throw Error(ErrorCode::kInternal, "a layer Hessian saw no dense input");
  return sum_dx_ / static_cast<double>(dense_columns_);
}

Eigen::VectorXd LayerHessian::dense_mean() const {
  if (!has_dense()) throw Error(ErrorCode::kInternal, "a layer Hessian saw no dense input");
  return sum_d_ / static_cast<double>(dense_columns_);
}

Eigen::VectorXd LayerHessian::mean() const { return sum_x_ / static_cast<double>(std::max<int64_t>(columns_, 1)); }

LayerHessian conv_hessian(const onnx::GraphProto& graph, int node, const std::vector<int64_t>& input_shape, uint64_t seed) {
  const onnx::NodeProto& conv = graph.node(node);
  std::vector<int64_t> weight_shape;
  for (const auto& init : graph.initializer()) {
    if (init.name() == conv.input(1)) weight_shape.assign(init.dims().begin(), init.dims().end());
  }
  if (weight_shape.size() < 2 || input_shape.size() != 4 || input_shape[0] != 1 || input_shape[1] != weight_shape[1]) {
    throw Error(ErrorCode::kUnsupported, "conv '" + conv.name() + "': its input is not 1 x I x H x W");
  }
  const uint64_t layer_seed = seed * 0x9e3779b97f4a7c15ull + static_cast<uint64_t>(node) + 1;
  return LayerHessian(conv_geometry(conv, weight_shape, input_shape[2], input_shape[3]), kMaxPixelsPerImage, layer_seed);
}

}  // namespace sparrow::compression
