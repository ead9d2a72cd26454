// x8-lut on AVX2, 32 bytes per step: vpshufb looks up 16 entries by the low nibble within each
// 128-bit lane, and yields 0 where an index byte has its top bit set. For table row r, x ^ (r << 4)
// has a zero high nibble exactly where x is in that row; adding 0x70 with unsigned saturation
// keeps those below 0x80 and pushes every other byte to 0x80 or more. So each row contributes
// only its own bytes, and OR-ing the 16 lookups gives the result (in four independent chains).
#include <immintrin.h>

#include "kernels/x8_lut.h"

namespace sparrow::kernels {

void x8_lut_ukernel_u32_avx2(size_t n, const uint8_t* x, uint8_t* y, const uint8_t* table) {
  __m256i rows[16];
  for (int r = 0; r < 16; ++r) {
    rows[r] = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(table + 16 * r)));
  }
  const __m256i other_rows = _mm256_set1_epi8(0x70);
  auto lookup = [&](__m256i v) {
    __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
    for (int r = 0; r < 16; ++r) {
      const __m256i index = _mm256_adds_epu8(_mm256_xor_si256(v, _mm256_set1_epi8(static_cast<char>(r << 4))), other_rows);
      acc[r % 4] = _mm256_or_si256(acc[r % 4], _mm256_shuffle_epi8(rows[r], index));
    }
    return _mm256_or_si256(_mm256_or_si256(acc[0], acc[1]), _mm256_or_si256(acc[2], acc[3]));
  };
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i), lookup(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i))));
  }
  if (i < n) {
    // The tail through a stack copy, so nothing beyond x[n) or y[n) is touched.
    alignas(32) uint8_t buffer[32] = {};
    for (size_t k = i; k < n; ++k) buffer[k - i] = x[k];
    _mm256_store_si256(reinterpret_cast<__m256i*>(buffer), lookup(_mm256_load_si256(reinterpret_cast<const __m256i*>(buffer))));
    for (size_t k = i; k < n; ++k) y[k] = buffer[k - i];
  }
}

}  // namespace sparrow::kernels
