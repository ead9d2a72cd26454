// qu8-vadd on AVX-512, 16 elements per step: widen to int32 and float, multiply and add, clamp,
// convert with the default rounding (half to even) and narrow with vpmovdb. The tail runs
// through masks, so nothing beyond n is read or written.
#include <immintrin.h>

#include "kernels/qu8_vadd.h"

namespace sparrow::kernels {

void qu8_vadd_ukernel_u16_avx512(size_t n, const uint8_t* a, const uint8_t* b, uint8_t* y, const Qu8AddParams& p) {
  const __m512 am = _mm512_set1_ps(p.a_multiplier), bm = _mm512_set1_ps(p.b_multiplier), bias = _mm512_set1_ps(p.bias);
  const __m512 lo = _mm512_setzero_ps(), hi = _mm512_set1_ps(255.0f);
  auto step = [&](__m128i va, __m128i vb) {
    const __m512 fa = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(va));
    const __m512 fb = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(vb));
    const __m512 sum = _mm512_add_ps(_mm512_mul_ps(fa, am), _mm512_add_ps(_mm512_mul_ps(fb, bm), bias));
    const __m512 v = _mm512_min_ps(_mm512_max_ps(sum, lo), hi);
    return _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(v));
  };
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i), step(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i)),
                                                             _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i))));
  }
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);  // n - i < 16
    _mm_mask_storeu_epi8(y + i, m, step(_mm_maskz_loadu_epi8(m, a + i), _mm_maskz_loadu_epi8(m, b + i)));
  }
}

}  // namespace sparrow::kernels
