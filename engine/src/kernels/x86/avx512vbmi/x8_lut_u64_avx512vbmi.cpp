// x8-lut on AVX-512 VBMI, 64 bytes per step: vpermi2b looks up 128 table entries by the low 7
// bits of each byte, so two of them cover the table and the top bit picks between their results.
#include <immintrin.h>

#include "kernels/x8_lut.h"

namespace sparrow::kernels {

void x8_lut_ukernel_u64_avx512vbmi(size_t n, const uint8_t* x, uint8_t* y, const uint8_t* table) {
  const __m512i t0 = _mm512_loadu_si512(table);
  const __m512i t1 = _mm512_loadu_si512(table + 64);
  const __m512i t2 = _mm512_loadu_si512(table + 128);
  const __m512i t3 = _mm512_loadu_si512(table + 192);
  auto lookup = [&](__m512i v) {
    const __m512i low = _mm512_permutex2var_epi8(t0, v, t1);
    const __m512i high = _mm512_permutex2var_epi8(t2, v, t3);
    return _mm512_mask_blend_epi8(_mm512_movepi8_mask(v), low, high);
  };
  size_t i = 0;
  for (; i + 64 <= n; i += 64) _mm512_storeu_si512(y + i, lookup(_mm512_loadu_si512(x + i)));
  if (i < n) {
    // The tail through a mask, so nothing beyond x[n) or y[n) is touched.
    const __mmask64 m = (uint64_t{1} << (n - i)) - 1;  // n - i < 64
    _mm512_mask_storeu_epi8(y + i, m, lookup(_mm512_maskz_loadu_epi8(m, x + i)));
  }
}

}  // namespace sparrow::kernels
