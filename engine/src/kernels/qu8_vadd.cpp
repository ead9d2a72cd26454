#include "kernels/qu8_vadd.h"

#include <cmath>

namespace sparrow::kernels {

Qu8AddParams qu8_add_params(float a_scale, int32_t a_zero, float b_scale, int32_t b_zero, float y_scale, int32_t y_zero) {
  Qu8AddParams p;
  p.a_multiplier = a_scale / y_scale;
  p.b_multiplier = b_scale / y_scale;
  p.bias = static_cast<float>(y_zero) - static_cast<float>(a_zero) * p.a_multiplier - static_cast<float>(b_zero) * p.b_multiplier;
  return p;
}

// Clamping before rounding gives the same bytes as after (the bounds are integers) and keeps
// huge multipliers from overflowing the float-to-int conversion.
void qu8_vadd_reference(size_t n, const uint8_t* a, const uint8_t* b, uint8_t* y, const Qu8AddParams& p) {
  for (size_t i = 0; i < n; ++i) {
    const float v = static_cast<float>(a[i]) * p.a_multiplier + (static_cast<float>(b[i]) * p.b_multiplier + p.bias);
    y[i] = static_cast<uint8_t>(std::nearbyint(std::fmin(std::fmax(v, 0.0f), 255.0f)));
  }
}

const std::vector<Qu8VaddVariant>& qu8_vadd_variants() {
  static const std::vector<Qu8VaddVariant> variants = {
      {"qu8-add-u16-avx512", Isa::kAvx512, qu8_vadd_ukernel_u16_avx512},
      {"qu8-add-u8-avx2", Isa::kAvx2, qu8_vadd_ukernel_u8_avx2},
      {"qu8-add-u1-scalar", Isa::kScalar, qu8_vadd_ukernel_u1_scalar},
  };
  return variants;
}

const Qu8VaddVariant& qu8_vadd_best_variant() {
  for (const Qu8VaddVariant& v : qu8_vadd_variants()) {
    if (isa_available(v.isa)) return v;
  }
  return qu8_vadd_variants().back();
}

}  // namespace sparrow::kernels
