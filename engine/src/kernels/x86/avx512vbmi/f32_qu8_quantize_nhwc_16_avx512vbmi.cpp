// f32-qu8-quantize-nhwc on AVX-512 VBMI, 16 pixels per step: each plane's 16 floats are scaled,
// clamped, rounded and narrowed to 16 bytes in their own 128-bit lane, and one vpermb interleaves
// the lanes into the pixels' C channels.
#include <immintrin.h>

#include <algorithm>

#include "kernels/f32_qu8_quantize.h"

namespace sparrow::kernels {
namespace {

// vpermb indices: output byte j (of 16 C) is byte j / C of lane j % C.
__m512i interleave_indices(size_t channels) {
  alignas(64) uint8_t index[64] = {};
  for (size_t j = 0; j < 16 * channels; ++j) index[j] = static_cast<uint8_t>((j % channels) * 16 + j / channels);
  return _mm512_load_si512(index);
}

// Lane c of v replaced by `bytes` (the lane must be an immediate).
__m512i insert_lane(__m512i v, __m128i bytes, size_t c) {
  switch (c) {
    case 0: return _mm512_inserti32x4(v, bytes, 0);
    case 1: return _mm512_inserti32x4(v, bytes, 1);
    case 2: return _mm512_inserti32x4(v, bytes, 2);
    default: return _mm512_inserti32x4(v, bytes, 3);
  }
}

}  // namespace

void f32_qu8_quantize_nhwc_ukernel_16_avx512vbmi(size_t pixels, size_t channels, const float* x, size_t plane_stride,
                                                 uint8_t* y, float inv_scale, int32_t zero) {
  const __m512 scale = _mm512_set1_ps(inv_scale);
  const __m512 lo = _mm512_set1_ps(static_cast<float>(-zero)), hi = _mm512_set1_ps(static_cast<float>(255 - zero));
  const __m512i z = _mm512_set1_epi32(zero);
  const __m512i index = interleave_indices(channels);
  const size_t out_bytes = pixels * channels;
  for (size_t p = 0; p < pixels; p += 16) {
    const size_t n = std::min<size_t>(16, pixels - p);
    const __mmask16 in = static_cast<__mmask16>((1u << n) - 1);
    __m512i lanes = _mm512_setzero_si512();
    for (size_t c = 0; c < channels; ++c) {
      // max(v, lo) is lo for a NaN v (the second operand), as fmax is in the reference.
      const __m512 v = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(in, x + c * plane_stride + p), scale), lo), hi);
      const __m128i bytes = _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(v), z));
      lanes = insert_lane(lanes, bytes, c);
    }
    const __m512i out = _mm512_permutexvar_epi8(index, lanes);
    uint8_t* dst = y + p * channels;
    // A full vector where the bytes past this step's are still to be written by later steps: a
    // masked store costs several plain ones on Zen.
    if (dst + 64 <= y + out_bytes && n == 16) {
      _mm512_storeu_si512(dst, out);
    } else {
      _mm512_mask_storeu_epi8(dst, (n * channels == 64) ? ~__mmask64{0} : ((__mmask64{1} << (n * channels)) - 1), out);
    }
  }
}

}  // namespace sparrow::kernels
