// Portable qu8-spconv: the panel packing, an 8-position one-row microkernel, and the dense row's
// epilogue (kernels/qu8_spconv.h). Rounds half to even by adding and subtracting 1.5 * 2^23,
// exact for values within +-2^22 under the default rounding mode.
#include <cstring>

#include "kernels/qu8_spconv.h"

namespace sparrow::kernels {
namespace {

constexpr float kRound = 12582912.0f;
constexpr int kTile = 8;

}  // namespace

void qu8_spconv_pack_scalar(size_t count, const uint8_t* src, size_t stride, size_t ic, uint8_t* dst, size_t plane_bytes,
                            uint8_t x_zero) {
  const size_t full = ic / 4, tail = ic % 4;
  for (size_t p = 0; p < count; ++p) {
    const uint8_t* pixel = src + p * stride;
    for (size_t c = 0; c < full; ++c) std::memcpy(dst + c * plane_bytes + p * 4, pixel + c * 4, 4);
    if (tail) {
      uint8_t* slot = dst + full * plane_bytes + p * 4;
      for (size_t j = 0; j < 4; ++j) slot[j] = j < tail ? pixel[full * 4 + j] : x_zero;
    }
  }
}

void qu8_spconv_ukernel_8x1_scalar(const Qu8SpconvWeights& w, size_t first, size_t last, const uint8_t* panel, int32_t* acc) {
  for (size_t seg = first; seg < last; ++seg) {
    int32_t sum[kTile] = {};
    const Qu8SpconvEntry* e = w.entries.data() + w.segment_start[seg];
    for (uint32_t s = 0; s < w.segment_steps[seg]; ++s, ++e) {
      const uint8_t* x = panel + e->offset;
      int8_t k[4];
      std::memcpy(k, &e->weights, 4);
      for (int m = 0; m < kTile; ++m) {
        for (int j = 0; j < 4; ++j) sum[m] += static_cast<int32_t>(x[m * 4 + j]) * k[j];
      }
    }
    // The first chunk's sums start the row; later chunks add to them.
    const bool starts = seg < static_cast<size_t>(w.groups);
    int32_t* row = acc + w.rows[seg % static_cast<size_t>(w.groups)] * kTile;
    for (int m = 0; m < kTile; ++m) row[m] = starts ? sum[m] : row[m] + sum[m];
  }
}

namespace {

uint8_t requantize(const Qu8SpconvWeights& w, int32_t acc, size_t c) {
  const float v = (static_cast<float>(acc + w.comp[c]) + w.bias[c]) * w.scale[c];
  // Within +-300 the rounding trick is exact, and anything beyond saturates all the same.
  const float bounded = !(v > -300.0f) ? -300.0f : (v > 300.0f ? 300.0f : v);
  const float r = ((bounded + kRound) - kRound) + w.y_zero;
  return static_cast<uint8_t>(r < 0.0f ? 0.0f : (r > 255.0f ? 255.0f : r));
}

}  // namespace

void qu8_spconv_epilogue_scalar(const Qu8SpconvWeights& w, const int32_t* acc, size_t acc_stride, size_t count, uint8_t* y,
                                size_t y_stride) {
  const size_t oc = static_cast<size_t>(w.oc);
  for (size_t m = 0; m < count; ++m) {
    for (size_t c = 0; c < oc; ++c) y[m * y_stride + c] = requantize(w, acc[c * acc_stride + m], c);
  }
}

void qu8_spconv_epilogue_planar_scalar(const Qu8SpconvWeights& w, const int32_t* acc, size_t acc_stride, size_t count,
                                       uint8_t* y, size_t plane_bytes) {
  const size_t oc = static_cast<size_t>(w.oc);
  for (size_t c = 0; c < oc; ++c) {
    for (size_t m = 0; m < count; ++m) y[(c / 4) * plane_bytes + m * 4 + c % 4] = requantize(w, acc[c * acc_stride + m], c);
  }
}

}  // namespace sparrow::kernels
