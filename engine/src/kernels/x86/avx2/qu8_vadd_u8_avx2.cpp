// qu8-vadd on AVX2, 8 elements per step: widen to int32 and float, multiply and add, clamp,
// convert with the default rounding (half to even) and narrow with two saturating packs. The
// tail goes through a stack copy, so nothing beyond n is read or written.
#include <immintrin.h>

#include <cstring>

#include "kernels/qu8_vadd.h"

namespace sparrow::kernels {

void qu8_vadd_ukernel_u8_avx2(size_t n, const uint8_t* a, const uint8_t* b, uint8_t* y, const Qu8AddParams& p) {
  const __m256 am = _mm256_set1_ps(p.a_multiplier), bm = _mm256_set1_ps(p.b_multiplier), bias = _mm256_set1_ps(p.bias);
  const __m256 lo = _mm256_setzero_ps(), hi = _mm256_set1_ps(255.0f);
  auto step = [&](const uint8_t* pa, const uint8_t* pb, uint8_t* py) {
    const __m256 fa = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(pa))));
    const __m256 fb = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(pb))));
    const __m256 sum = _mm256_add_ps(_mm256_mul_ps(fa, am), _mm256_add_ps(_mm256_mul_ps(fb, bm), bias));
    const __m256 v = _mm256_min_ps(_mm256_max_ps(sum, lo), hi);
    const __m256i q = _mm256_cvtps_epi32(v);
    const __m128i words = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(py), _mm_packus_epi16(words, words));
  };
  size_t i = 0;
  for (; i + 8 <= n; i += 8) step(a + i, b + i, y + i);
  if (i < n) {
    uint8_t ta[8] = {}, tb[8] = {}, ty[8];
    std::memcpy(ta, a + i, n - i);
    std::memcpy(tb, b + i, n - i);
    step(ta, tb, ty);
    std::memcpy(y + i, ty, n - i);
  }
}

}  // namespace sparrow::kernels
