#include "kernels/f32_qu8_quantize.h"

#include <algorithm>
#include <cmath>

namespace sparrow::kernels {

void f32_qu8_quantize_nhwc_reference(size_t pixels, size_t channels, const float* x, size_t plane_stride, uint8_t* y,
                                     float inv_scale, int32_t zero) {
  // Clamped in float first, to bounds that are integers: the same as clamping after rounding, and
  // no conversion overflows. fmax(NaN, lo) is lo.
  const float lo = static_cast<float>(-zero), hi = static_cast<float>(255 - zero);
  for (size_t p = 0; p < pixels; ++p) {
    for (size_t c = 0; c < channels; ++c) {
      const float v = std::fmin(std::fmax(x[c * plane_stride + p] * inv_scale, lo), hi);
      y[p * channels + c] = static_cast<uint8_t>(static_cast<int32_t>(std::nearbyint(v)) + zero);
    }
  }
}

const std::vector<F32Qu8QuantizeVariant>& f32_qu8_quantize_variants() {
  static const std::vector<F32Qu8QuantizeVariant> variants = {
      {"f32-qu8-quantize-nhwc-16-avx512vbmi", Isa::kAvx512Vbmi, f32_qu8_quantize_nhwc_ukernel_16_avx512vbmi},
  };
  return variants;
}

}  // namespace sparrow::kernels
