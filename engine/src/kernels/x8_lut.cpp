#include "kernels/x8_lut.h"

namespace sparrow::kernels {

void x8_lut_reference(size_t n, const uint8_t* x, uint8_t* y, const uint8_t* table) {
  for (size_t i = 0; i < n; ++i) y[i] = table[x[i]];
}

const std::vector<X8LutVariant>& x8_lut_variants() {
  static const std::vector<X8LutVariant> variants = {
      {"x8-lut-u64-avx512vbmi", Isa::kAvx512Vbmi, x8_lut_ukernel_u64_avx512vbmi},
      {"x8-lut-u32-avx2", Isa::kAvx2, x8_lut_ukernel_u32_avx2},
      {"x8-lut-u4-scalar", Isa::kScalar, x8_lut_ukernel_u4_scalar},
  };
  return variants;
}

const X8LutVariant& x8_lut_best_variant() {
  for (const X8LutVariant& v : x8_lut_variants()) {
    if (isa_available(v.isa)) return v;
  }
  return x8_lut_variants().back();
}

}  // namespace sparrow::kernels
