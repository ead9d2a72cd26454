// Portable qu8-vadd, one element per step: the variant of CPUs without AVX2. Rounds by adding
// and subtracting 1.5 * 2^23, which leaves a value in [0, 255] rounded half to even under the
// default rounding mode, as nearbyint does, without its library call.
#include "kernels/qu8_vadd.h"

namespace sparrow::kernels {

constexpr float kRound = 12582912.0f;

void qu8_vadd_ukernel_u1_scalar(size_t n, const uint8_t* a, const uint8_t* b, uint8_t* y, const Qu8AddParams& p) {
  const float am = p.a_multiplier, bm = p.b_multiplier, bias = p.bias;
  for (size_t i = 0; i < n; ++i) {
    const float v = static_cast<float>(a[i]) * am + (static_cast<float>(b[i]) * bm + bias);
    const float clamped = !(v > 0.0f) ? 0.0f : (v > 255.0f ? 255.0f : v);  // NaN to 0, as fmax does
    y[i] = static_cast<uint8_t>((clamped + kRound) - kRound);
  }
}

}  // namespace sparrow::kernels
