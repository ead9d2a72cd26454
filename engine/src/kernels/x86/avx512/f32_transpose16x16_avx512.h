// A 16x16 float transpose in zmm registers (for the AVX-512 object library only): row i of
// `rows` becomes lane i of every output vector.
#pragma once

#include <immintrin.h>

namespace sparrow::kernels {

inline void f32_transpose16x16_avx512(const __m512 rows[16], __m512 out[16]) {
  __m512 t[16], u[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(rows[2 * i], rows[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(rows[2 * i], rows[2 * i + 1]);
  }
  // u[4g + k], per 128-bit lane L: rows 4g..4g+3 of column 4L + k.
  for (int g = 0; g < 4; ++g) {
    u[4 * g + 0] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0x44);
    u[4 * g + 1] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0xEE);
    u[4 * g + 2] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0x44);
    u[4 * g + 3] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0xEE);
  }
  for (int k = 0; k < 4; ++k) {
    const __m512 even_a = _mm512_shuffle_f32x4(u[k], u[4 + k], 0x88), odd_a = _mm512_shuffle_f32x4(u[k], u[4 + k], 0xDD);
    const __m512 even_b = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0x88), odd_b = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0xDD);
    out[k] = _mm512_shuffle_f32x4(even_a, even_b, 0x88);
    out[8 + k] = _mm512_shuffle_f32x4(even_a, even_b, 0xDD);
    out[4 + k] = _mm512_shuffle_f32x4(odd_a, odd_b, 0x88);
    out[12 + k] = _mm512_shuffle_f32x4(odd_a, odd_b, 0xDD);
  }
}

}  // namespace sparrow::kernels
