#include "compression/activation_range.h"

#include <algorithm>
#include <cmath>

namespace sparrow::compression {
namespace {

// What quantizing `v` on `grid` and dequantizing gives, rounding half to even as QuantizeLinear does.
float on_grid(const U8Grid& grid, float v) {
  const float zero = grid.zero_point;
  return (std::clamp(std::nearbyint(v / grid.scale) + zero, 0.0f, 255.0f) - zero) * grid.scale;
}

constexpr double kPercentile = 0.99999;  // ONNX Runtime's default for its percentile calibration

U8Grid percentile_grid(const Histogram& h) {
  uint64_t total = 0;
  for (uint64_t c : h.counts()) total += c;
  const double tail = static_cast<double>(total) * (1 - kPercentile) / 2;
  size_t lo = 0, hi = h.counts().size() - 1;
  for (double below = 0; lo < hi && below + static_cast<double>(h.counts()[lo]) <= tail; ++lo) below += static_cast<double>(h.counts()[lo]);
  for (double above = 0; hi > lo && above + static_cast<double>(h.counts()[hi]) <= tail; --hi) above += static_cast<double>(h.counts()[hi]);
  return u8_grid(h.lo() + static_cast<float>(lo) * h.bin_width(), h.lo() + static_cast<float>(hi + 1) * h.bin_width());
}

// Expected squared error of quantizing the histogram's values on `grid` (values at bin centres).
double squared_error(const Histogram& h, const U8Grid& grid) {
  double error = 0;
  for (size_t i = 0; i < h.counts().size(); ++i) {
    if (!h.counts()[i]) continue;
    const float v = h.lo() + (static_cast<float>(i) + 0.5f) * h.bin_width();
    const double e = on_grid(grid, v) - v;
    error += e * e * static_cast<double>(h.counts()[i]);
  }
  return error;
}

// Shrinks the top of the range, then the bottom, each to the fraction of the seen extreme with
// the least error: two searches of 100 steps instead of 10^4 pairs.
U8Grid mse_grid(float seen_min, float seen_max, const Histogram& h) {
  float lo = seen_min, hi = seen_max;
  auto best_fraction = [&](auto make) {
    float best = 1;
    double best_error = squared_error(h, make(1.0f));
    for (int step = 1; step < 100; ++step) {
      const float f = 1.0f - static_cast<float>(step) * 0.01f;
      const double e = squared_error(h, make(f));
      if (e < best_error) best_error = e, best = f;
    }
    return best;
  };
  hi *= best_fraction([&](float f) { return u8_grid(lo, hi * f); });
  lo *= best_fraction([&](float f) { return u8_grid(lo * f, hi); });
  return u8_grid(lo, hi);
}

}  // namespace

Histogram::Histogram(float lo, float hi)
    : lo_(lo), width_(hi > lo ? (hi - lo) / kBins : 1.0f), counts_(kBins, 0) {}

void Histogram::add(const float* values, size_t n) {
  const float inv = 1.0f / width_;
  for (size_t i = 0; i < n; ++i) {
    const float bin = std::clamp((values[i] - lo_) * inv, 0.0f, static_cast<float>(kBins - 1));
    ++counts_[static_cast<size_t>(bin)];
  }
}

void round_to_grid(const U8Grid& grid, float* values, size_t n) {
  for (size_t i = 0; i < n; ++i) values[i] = on_grid(grid, values[i]);
}

U8Grid u8_grid(float min, float max) {
  U8Grid g;
  g.min = std::min(min, 0.0f);
  g.max = std::max(max, 0.0f);
  // An all-zero tensor still needs a positive scale: ONNX forbids 0.
  g.scale = g.max > g.min ? (g.max - g.min) / 255.0f : 1.0f;
  g.zero_point = static_cast<uint8_t>(std::clamp(std::nearbyint(-g.min / g.scale), 0.0f, 255.0f));
  return g;
}

U8Grid choose_grid(CalibrationMethod method, float seen_min, float seen_max, const Histogram* histogram) {
  if (method == CalibrationMethod::kMinMax || !histogram) return u8_grid(seen_min, seen_max);
  if (method == CalibrationMethod::kPercentile) return percentile_grid(*histogram);
  return mse_grid(seen_min, seen_max, *histogram);
}

}  // namespace sparrow::compression
