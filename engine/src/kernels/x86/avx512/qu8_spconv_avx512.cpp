// qu8-spconv's panel packing and epilogue on AVX-512 (F/BW): the packing moves 16 pixels x 16
// dwords through an in-register 16x16 transpose, NHWC pixels to channel-block planes; the
// epilogue requantizes accumulator rows (one per output channel) and transposes the bytes back to
// NHWC pixels. Tails run through masks.
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

// One output channel's accumulators for 16 positions to 16 bytes, in the dense row's order: add
// the pads' compensation, scale, round half to even, add the zero point, saturate.
__m128i requantize(const Qu8SpconvWeights& w, size_t c, const int32_t* acc) {
  __m512 v = _mm512_cvtepi32_ps(_mm512_add_epi32(_mm512_loadu_si512(acc), _mm512_set1_epi32(w.comp[c])));
  v = _mm512_mul_ps(_mm512_add_ps(v, _mm512_set1_ps(w.bias[c])), _mm512_set1_ps(w.scale[c]));
  v = _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  v = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(v, _mm512_set1_ps(w.y_zero)), _mm512_setzero_ps()), _mm512_set1_ps(255.0f));
  return _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(v));
}

// Row i of b (channel i, byte j = position j) -> out[j] (position j, byte i = channel i). With
// four rows per register, two rounds of byte and word unpacks gather, in each 128-bit lane L,
// the 4-byte column pieces of rows 4L..4L+3; one dword permutation per register then puts the
// four lanes' pieces of a column side by side.
void transpose16x16_bytes(const __m128i b[16], __m512i out[4]) {
  __m512i z[4];
  for (int k = 0; k < 4; ++k) {  // z[k], lane L: row 4L + k
    z[k] = _mm512_inserti32x4(_mm512_castsi128_si512(b[k]), b[4 + k], 1);
    z[k] = _mm512_inserti32x4(_mm512_inserti32x4(z[k], b[8 + k], 2), b[12 + k], 3);
  }
  const __m512i t0 = _mm512_unpacklo_epi8(z[0], z[1]), t1 = _mm512_unpackhi_epi8(z[0], z[1]);
  const __m512i t2 = _mm512_unpacklo_epi8(z[2], z[3]), t3 = _mm512_unpackhi_epi8(z[2], z[3]);
  // u[q], lane L, dword d: column 4q + d of rows 4L..4L+3.
  const __m512i u[4] = {_mm512_unpacklo_epi16(t0, t2), _mm512_unpackhi_epi16(t0, t2), _mm512_unpacklo_epi16(t1, t3),
                        _mm512_unpackhi_epi16(t1, t3)};
  const __m512i gather = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  for (int q = 0; q < 4; ++q) out[q] = _mm512_permutexvar_epi32(gather, u[q]);  // lane d: column 4q + d
}

// Lane d of v to the bytes `valid` selects at y.
void store_lane(const __m512i v, int d, __mmask16 valid, uint8_t* y) {
  switch (d) {
    case 0: _mm_mask_storeu_epi8(y, valid, _mm512_castsi512_si128(v)); break;
    case 1: _mm_mask_storeu_epi8(y, valid, _mm512_extracti32x4_epi32(v, 1)); break;
    case 2: _mm_mask_storeu_epi8(y, valid, _mm512_extracti32x4_epi32(v, 2)); break;
    default: _mm_mask_storeu_epi8(y, valid, _mm512_extracti32x4_epi32(v, 3)); break;
  }
}

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

// Requantizes channel by channel, 16 positions to a vector, and transposes the bytes: a quarter
// of the data the dword transpose of the accumulators moved.
void qu8_spconv_epilogue_avx512(const Qu8SpconvWeights& w, const int32_t* acc, size_t acc_stride, size_t count, uint8_t* y) {
  const size_t oc = static_cast<size_t>(w.oc);
  for (size_t m0 = 0; m0 < count; m0 += 16) {
    const size_t nm = count - m0 < 16 ? count - m0 : 16;
    for (size_t c0 = 0; c0 < oc; c0 += 16) {
      const size_t nc = oc - c0 < 16 ? oc - c0 : 16;
      __m128i b[16];
      for (size_t i = 0; i < 16; ++i) b[i] = i < nc ? requantize(w, c0 + i, acc + (c0 + i) * acc_stride + m0) : _mm_setzero_si128();
      __m512i columns[4];
      transpose16x16_bytes(b, columns);
      for (size_t m = 0; m < nm; ++m) store_lane(columns[m / 4], static_cast<int>(m % 4), first(nc), y + (m0 + m) * oc + c0);
    }
  }
}

}  // namespace sparrow::kernels
