#include "compression/head_error.h"

#include <cmath>
#include <cstdint>

namespace sparrow::compression {
namespace {

double sigmoid(float x) { return 1.0 / (1.0 + std::exp(-static_cast<double>(x))); }

// YOLOv5's head conv has 3 anchors x (4 box, 1 objectness, classes) channels per cell.
constexpr int64_t kAnchors = 3, kObjectness = 4;

// One head's squared error and reference over one image, on what the decode reads: the sigmoid
// of every channel. Each anchor's objectness counts everywhere (a background cell turning into a
// detection matters); its box and classes count as much as the dense model believes an object is
// there, since nothing reads them on background cells, which would otherwise weigh the most.
void add_head_error(const Tensor& dense, const Tensor& other, double& delta, double& reference) {
  const int64_t channels = dense.shape()[1], cells = dense.size() / channels;
  const int64_t per_anchor = channels % kAnchors == 0 ? channels / kAnchors : 0;
  const float* a = dense.data_as<float>();
  const float* b = other.data_as<float>();
  for (int64_t c = 0; c < channels; ++c) {
    const bool objectness = per_anchor > kObjectness && c % per_anchor == kObjectness;
    const float* object = per_anchor > kObjectness ? a + (c - c % per_anchor + kObjectness) * cells : nullptr;
    for (int64_t i = 0; i < cells; ++i) {
      const double pa = sigmoid(a[c * cells + i]), pb = sigmoid(b[c * cells + i]);
      const double weight = objectness || !object ? 1.0 : sigmoid(object[i]);
      delta += weight * (pa - pb) * (pa - pb);
      reference += weight * pa * pa;
    }
  }
}

}  // namespace

double head_error(const std::vector<std::vector<Tensor>>& dense, const std::vector<std::vector<Tensor>>& other) {
  double total = 0;
  for (size_t h = 0; h < dense.size(); ++h) {
    double delta = 0, reference = 0;
    for (size_t n = 0; n < dense[h].size(); ++n) add_head_error(dense[h][n], other[h][n], delta, reference);
    total += reference > 0 ? delta / reference : 0;
  }
  return dense.empty() ? 0 : total / static_cast<double>(dense.size());
}

}  // namespace sparrow::compression
