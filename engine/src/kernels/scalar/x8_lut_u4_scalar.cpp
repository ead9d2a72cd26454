// Portable x8-lut, four bytes per step (loads before stores, so x == y is fine): the variant of
// CPUs without AVX2.
#include "kernels/x8_lut.h"

namespace sparrow::kernels {

void x8_lut_ukernel_u4_scalar(size_t n, const uint8_t* x, uint8_t* y, const uint8_t* table) {
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const uint8_t a = table[x[i]], b = table[x[i + 1]], c = table[x[i + 2]], d = table[x[i + 3]];
    y[i] = a;
    y[i + 1] = b;
    y[i + 2] = c;
    y[i + 3] = d;
  }
  for (; i < n; ++i) y[i] = table[x[i]];
}

}  // namespace sparrow::kernels
