// qu8-spconv's panel packing and epilogue on AVX-512 (F/BW): the packing moves 16 pixels x 16
// dwords through an in-register 16x16 transpose, NHWC pixels to channel-block planes; the
// epilogue requantizes accumulator rows (one per output channel) and transposes the bytes back to
// NHWC pixels. Tails run through masks; full vectors do not, since a masked store costs several
// plain ones on Zen (the epilogue ran ~20 % faster without them).
#include <immintrin.h>

#include <cstdint>

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

// The epilogue's per-channel constants, read once per call rather than through `w` after every
// byte store (which may alias them).
struct Requant {
  const int32_t* comp;
  const float* bias;
  const float* scale;
};

// One output channel's accumulators for 16 positions, scaled and rounded half to even, as int32
// before the zero point: the dense row's order of operations. The cap keeps the conversion from
// overflowing to INT_MIN; anything that large saturates to 255 all the same, and anything below
// -2^31 converts to INT_MIN, which saturates to 0.
__m512i requantize(const Requant& r, size_t c, const int32_t* acc) {
  __m512 v = _mm512_cvtepi32_ps(_mm512_add_epi32(_mm512_loadu_si512(acc), _mm512_set1_epi32(r.comp[c])));
  v = _mm512_mul_ps(_mm512_add_ps(v, _mm512_set1_ps(r.bias[c])), _mm512_set1_ps(r.scale[c]));
  v = _mm512_min_ps(v, _mm512_set1_ps(1073741824.0f));
  return _mm512_cvt_roundps_epi32(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

// Four channels' rounded values (16 positions each) to bytes, saturating as the dense row clamps:
// to int16, plus the zero point (saturating), to [0, 255]; then, in 128-bit lane L, dword j
// holds the four channels of position 4L + j.
__m512i narrow4(__m512i a, __m512i b, __m512i c, __m512i d, __m512i zero16) {
  const __m512i ab = _mm512_adds_epi16(_mm512_packs_epi32(a, b), zero16);
  const __m512i cd = _mm512_adds_epi16(_mm512_packs_epi32(c, d), zero16);
  // Lane L: a[4L..4L+3], b[...], c[...], d[...]; the shuffle transposes that 4x4.
  const __m512i bytes = _mm512_packus_epi16(ab, cd);
  const __m512i by_position = _mm512_broadcast_i32x4(_mm_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15));
  return _mm512_shuffle_epi8(bytes, by_position);
}

// 128-bit lane d of v.
__m128i lane(const __m512i v, int d) {
  switch (d) {
    case 0: return _mm512_castsi512_si128(v);
    case 1: return _mm512_extracti32x4_epi32(v, 1);
    case 2: return _mm512_extracti32x4_epi32(v, 2);
    default: return _mm512_extracti32x4_epi32(v, 3);
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
      for (size_t c = 0; c < nc; ++c) {
        uint8_t* d = dst + (c0 + c) * plane_bytes + p0 * 4;
        if (np == 16) {
          _mm512_storeu_si512(d, r[c]);
        } else {
          _mm512_mask_storeu_epi32(d, first(np), r[c]);
        }
      }
    }
  }
  if (tail) {
    for (size_t p = 0; p < count; ++p) {
      uint8_t* slot = dst + full * plane_bytes + p * 4;
      for (size_t j = 0; j < 4; ++j) slot[j] = j < tail ? src[p * stride + full * 4 + j] : x_zero;
    }
  }
}

namespace {

// 16 channels (from c0) of 16 positions as four channel blocks: p[k] holds channels c0 + 4k ..
// c0 + 4k + 3 of the 16 positions, one dword per position. Rows past `nc` are zero.
// Inlined: as a call its four results go through memory (measured: the NHWC epilogue lost 10 %).
template <bool kFull>
[[gnu::always_inline]] inline void requantize_blocks(const Requant& r, size_t c0, size_t nc, const int32_t* acc,
                                                     size_t acc_stride, __m512i zero16, __m512i p[4]) {
  auto row = [&](size_t i) {
    return kFull || i < nc ? requantize(r, c0 + i, acc + (c0 + i) * acc_stride) : _mm512_setzero_si512();
  };
  for (size_t k = 0; k < 4; ++k) p[k] = narrow4(row(4 * k), row(4 * k + 1), row(4 * k + 2), row(4 * k + 3), zero16);
}

// Every tile of 16 positions (from m0, nm of them) by 16 channels (from c0, nc of them) of the
// `count` positions' accumulators, requantized into four channel blocks (requantize_blocks) and
// handed to store(m0, nm, c0, nc, p). Whole 16x16 tiles run without a branch per row.
template <class Store>
[[gnu::always_inline]] inline void requantize_tiles(const Qu8SpconvWeights& w, const int32_t* acc, size_t acc_stride,
                                                    size_t count, Store&& store) {
  const size_t oc = static_cast<size_t>(w.oc);
  const Requant r{w.comp.data(), w.bias.data(), w.scale.data()};
  const __m512i zero16 = _mm512_set1_epi16(static_cast<int16_t>(w.y_zero));
  for (size_t m0 = 0; m0 < count; m0 += 16) {
    const size_t nm = count - m0 < 16 ? count - m0 : 16;
    for (size_t c0 = 0; c0 < oc; c0 += 16) {
      const size_t nc = oc - c0 < 16 ? oc - c0 : 16;
      __m512i p[4];
      if (nc == 16) {
        requantize_blocks<true>(r, c0, nc, acc + m0, acc_stride, zero16, p);
      } else {
        requantize_blocks<false>(r, c0, nc, acc + m0, acc_stride, zero16, p);
      }
      store(m0, nm, c0, nc, p);
    }
  }
}

// Four channel blocks of 16 positions to NHWC bytes: a 4x4 dword transpose per 128-bit lane
// leaves in lane L of q[j] the 16 channels of position 4L + j.
void blocks_to_pixels(const __m512i p[4], __m512i q[4]) {
  const __m512i t0 = _mm512_unpacklo_epi32(p[0], p[1]), t1 = _mm512_unpackhi_epi32(p[0], p[1]);
  const __m512i t2 = _mm512_unpacklo_epi32(p[2], p[3]), t3 = _mm512_unpackhi_epi32(p[2], p[3]);
  q[0] = _mm512_unpacklo_epi64(t0, t2);
  q[1] = _mm512_unpackhi_epi64(t0, t2);
  q[2] = _mm512_unpacklo_epi64(t1, t3);
  q[3] = _mm512_unpackhi_epi64(t1, t3);
}

// The first n dwords of v to `out`, each store within one cache line: a 64-byte store that
// straddles two lines (most of them, where a 3x3 conv's tiles drift against the output's pixels)
// costs several. The lanes past the line's end are rotated down to the next line's start.
void store_in_lines(uint8_t* out, size_t n, __m512i v) {
  const size_t head = 16 - (reinterpret_cast<uintptr_t>(out) & 63) / 4;  // lanes to the line's end
  if (head == 16) {
    if (n == 16) {
      _mm512_storeu_si512(out, v);
    } else {
      _mm512_mask_storeu_epi32(out, first(n), v);
    }
    return;
  }
  _mm512_mask_storeu_epi32(out, first(n < head ? n : head), v);
  if (n <= head) return;
  const __m512i rotate = _mm512_add_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                          _mm512_set1_epi32(static_cast<int>(head)));
  _mm512_mask_storeu_epi32(out + head * 4, first(n - head), _mm512_permutexvar_epi32(rotate, v));
}

}  // namespace

// Requantizes channel by channel, 16 positions to a vector; the saturating packs narrow four
// channels at a time into 4x4 byte tiles, and a 4x4 dword transpose per 128-bit lane gathers each
// position's 16 channels.
void qu8_spconv_epilogue_avx512(const Qu8SpconvWeights& w, const int32_t* acc, size_t acc_stride, size_t count, uint8_t* y,
                                size_t y_stride) {
  requantize_tiles(w, acc, acc_stride, count, [&](size_t m0, size_t nm, size_t c0, size_t nc, const __m512i p[4]) {
    __m512i q[4];
    blocks_to_pixels(p, q);
    uint8_t* out = y + m0 * y_stride + c0;
    if (nc == 16 && nm == 16) {
      for (int l = 0; l < 4; ++l) {
        for (int j = 0; j < 4; ++j) _mm_storeu_si128(reinterpret_cast<__m128i*>(out + (4 * l + j) * y_stride), lane(q[j], l));
      }
      return;
    }
    for (size_t m = 0; m < nm; ++m) _mm_mask_storeu_epi8(out + m * y_stride, first(nc), lane(q[m % 4], static_cast<int>(m / 4)));
  });
}

// The same into channel-blocked planes (kernels/qu8_spconv.h, "planar"): the packs already
// leave each block of 4 channels as one dword per position, so each goes out as it is.
void qu8_spconv_epilogue_planar_avx512(const Qu8SpconvWeights& w, const int32_t* acc, size_t acc_stride, size_t count,
                                       uint8_t* y, size_t plane_bytes) {
  requantize_tiles(w, acc, acc_stride, count, [&](size_t m0, size_t nm, size_t c0, size_t nc, const __m512i p[4]) {
    for (size_t k = 0; 4 * k < nc; ++k) store_in_lines(y + (c0 / 4 + k) * plane_bytes + m0 * 4, nm, p[k]);
  });
}

}  // namespace sparrow::kernels
