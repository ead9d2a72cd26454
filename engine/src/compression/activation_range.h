// Choosing an activation's u8 grid from what calibration saw (CalibrationMethod).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "sparrow/compression/quantize.h"

namespace sparrow::compression {

// Counts of values in kBins equal bins over [lo, hi]; values outside land in the end bins.
class Histogram {
 public:
  static constexpr int kBins = 2048;
  Histogram(float lo, float hi);
  void add(const float* values, size_t n);
  float lo() const { return lo_; }
  float bin_width() const { return width_; }
  const std::vector<uint64_t>& counts() const { return counts_; }

 private:
  float lo_, width_;
  std::vector<uint64_t> counts_;
};

struct U8Grid {
  float min = 0, max = 0;  // what the grid covers: [min, max] always holds 0
  float scale = 1;
  uint8_t zero_point = 0;
};

// Replaces each value by what quantizing it on `grid` and dequantizing gives (rounding half to
// even, as the engine's QuantizeLinear does).
void round_to_grid(const U8Grid& grid, float* values, size_t n);

// The asymmetric u8 grid over [min, max], widened to hold 0 (zero padding must stay exact).
U8Grid u8_grid(float min, float max);
// The grid `method` picks; `histogram` may be null for kMinMax only.
U8Grid choose_grid(CalibrationMethod method, float seen_min, float seen_max, const Histogram* histogram);

}  // namespace sparrow::compression
