// qu8-spconv's panel packing and epilogue on AVX-512 (F/BW): both move 16 pixels x 16 dwords
// through an in-register 16x16 transpose, NHWC pixels to channel-block planes and accumulator
// rows (one per output channel) back to NHWC pixels. Tails run through masks.
#include <immintrin.h>

#include "kernels/qu8_spconv.h"

namespace sparrow::kernels {
namespace {

// r[i] holds row i (16 dwords); afterwards r[j] holds column j.
void transpose16x16(__m512i r[16]) {
  __m512i t[16], u[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
  // u[4i + k], 128-bit lane L: column 4L + k of rows 4i .. 4i + 3.
  for (int i = 0; i < 4; ++i) {
    u[4 * i] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
    u[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
    u[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
    u[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
  }
  for (int k = 0; k < 4; ++k) {
    const __m512i x0 = _mm512_shuffle_i32x4(u[k], u[4 + k], 0x44), x1 = _mm512_shuffle_i32x4(u[k], u[4 + k], 0xEE);
    const __m512i y0 = _mm512_shuffle_i32x4(u[8 + k], u[12 + k], 0x44), y1 = _mm512_shuffle_i32x4(u[8 + k], u[12 + k], 0xEE);
    r[k] = _mm512_shuffle_i32x4(x0, y0, 0x88);
    r[4 + k] = _mm512_shuffle_i32x4(x0, y0, 0xDD);
    r[8 + k] = _mm512_shuffle_i32x4(x1, y1, 0x88);
    r[12 + k] = _mm512_shuffle_i32x4(x1, y1, 0xDD);
  }
}

__mmask16 first(size_t n) { return static_cast<__mmask16>(n >= 16 ? 0xFFFFu : (1u << n) - 1); }

// The epilogue's constants for 16 output channels, loaded once per 16 pixels: the byte stores
// of the results may alias them as far as the compiler knows.
struct Requant {
  __m512i comp;
  __m512 bias, scale, y_zero;
  Requant(const Qu8SpconvWeights& w, size_t c, __mmask16 valid)
      : comp(_mm512_maskz_loadu_epi32(valid, w.comp.data() + c)), bias(_mm512_maskz_loadu_ps(valid, w.bias.data() + c)),
        scale(_mm512_maskz_loadu_ps(valid, w.scale.data() + c)), y_zero(_mm512_set1_ps(w.y_zero)) {}

  // One 16-channel vector of one pixel to 16 bytes, in the dense row's order: scale, round half
  // to even, add the zero point, saturate.
  __m128i operator()(__m512i acc) const {
    __m512 v = _mm512_cvtepi32_ps(_mm512_add_epi32(acc, comp));
    v = _mm512_roundscale_ps(_mm512_mul_ps(_mm512_add_ps(v, bias), scale), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    v = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(v, y_zero), _mm512_setzero_ps()), _mm512_set1_ps(255.0f));
    return _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(v));
  }
};

}  // namespace

void qu8_spconv_pack_avx512(size_t count, const uint8_t* src, size_t stride, size_t ic, uint8_t* dst, size_t plane_bytes,
                            uint8_t x_zero) {
  const size_t full = ic / 4, tail = ic % 4;
  for (size_t p0 = 0; p0 < count; p0 += 16) {
    const size_t np = count - p0 < 16 ? count - p0 : 16;
    for (size_t c0 = 0; c0 < full; c0 += 16) {
      const size_t nc = full - c0 < 16 ? full - c0 : 16;
      __m512i r[16];
      for (size_t i = 0; i < 16; ++i) {
        r[i] = i < np ? _mm512_maskz_loadu_epi32(first(nc), src + (p0 + i) * stride + c0 * 4) : _mm512_setzero_si512();
      }
      transpose16x16(r);
      for (size_t c = 0; c < nc; ++c) _mm512_mask_storeu_epi32(dst + (c0 + c) * plane_bytes + p0 * 4, first(np), r[c]);
    }
  }
  if (tail) {
    for (size_t p = 0; p < count; ++p) {
      uint8_t* slot = dst + full * plane_bytes + p * 4;
      for (size_t j = 0; j < 4; ++j) slot[j] = j < tail ? src[p * stride + full * 4 + j] : x_zero;
    }
  }
}

void qu8_spconv_epilogue_avx512(const Qu8SpconvWeights& w, const int32_t* acc, size_t acc_stride, size_t count, uint8_t* y) {
  const size_t oc = static_cast<size_t>(w.oc);
  for (size_t m0 = 0; m0 < count; m0 += 16) {
    const size_t nm = count - m0 < 16 ? count - m0 : 16;
    for (size_t c0 = 0; c0 < oc; c0 += 16) {
      const __mmask16 valid = first(oc - c0);
      __m512i r[16];
      // Rows past oc exist (accumulator_rows()); their columns are dropped by the store mask.
      for (size_t i = 0; i < 16; ++i) r[i] = _mm512_loadu_si512(acc + (c0 + i) * acc_stride + m0);
      transpose16x16(r);
      const Requant requantize(w, c0, valid);
      for (size_t m = 0; m < nm; ++m) _mm_mask_storeu_epi8(y + (m0 + m) * oc + c0, valid, requantize(r[m]));
    }
  }
}

}  // namespace sparrow::kernels
