// qu8-spconv's panel packing and epilogue on AVX2, for the AVX-VNNI and AVX2 rows: the AVX-512
// file's scheme at half the width. The packing moves 8 pixels x 8 dwords through an in-register
// 8x8 transpose; the epilogue requantizes accumulator rows of 8 positions and transposes the
// bytes back to NHWC pixels. The portable versions these replace ran at 0.3 GB/s of output (the
// epilogue) and 7-9 GB/s of panel (the packing), which made the sparse rows lose to oneDNN's
// dense AVX2 convolutions on every 1x1 shape.
#include <immintrin.h>

#include <cstring>

#include "kernels/qu8_spconv.h"

namespace sparrow::kernels {
namespace {

// r[i] holds row i (8 dwords); afterwards r[j] holds column j.
void transpose8x8(__m256i r[8]) {
  __m256i t[8], u[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
  // u[4i + k], 128-bit lane L: column 4L + k of rows 4i .. 4i + 3.
  for (int i = 0; i < 2; ++i) {
    u[4 * i] = _mm256_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
    u[4 * i + 1] = _mm256_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
    u[4 * i + 2] = _mm256_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
    u[4 * i + 3] = _mm256_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
  }
  for (int k = 0; k < 4; ++k) {
    r[k] = _mm256_permute2x128_si256(u[k], u[4 + k], 0x20);
    r[4 + k] = _mm256_permute2x128_si256(u[k], u[4 + k], 0x31);
  }
}

// Lanes [0, n) set, for the dword masked loads and stores.
__m256i first(size_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// The epilogue's per-channel constants, read once per call rather than through `w` after every
// byte store (which may alias them).
struct Requant {
  const int32_t* comp;
  const float* bias;
  const float* scale;
};

// One output channel's accumulators for 8 positions, scaled and rounded half to even (the default
// rounding mode), as int32 before the zero point: the AVX-512 epilogue's steps, the same cap.
__m256i requantize(const Requant& r, size_t c, const int32_t* acc) {
  const __m256i sum = _mm256_add_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc)), _mm256_set1_epi32(r.comp[c]));
  __m256 v = _mm256_mul_ps(_mm256_add_ps(_mm256_cvtepi32_ps(sum), _mm256_set1_ps(r.bias[c])), _mm256_set1_ps(r.scale[c]));
  v = _mm256_min_ps(v, _mm256_set1_ps(1073741824.0f));
  return _mm256_cvtps_epi32(v);
}

// Four channels' rounded values (8 positions each) to bytes, saturating as the dense row clamps;
// then, in 128-bit lane L, dword j holds the four channels of position 4L + j.
__m256i narrow4(__m256i a, __m256i b, __m256i c, __m256i d, __m256i zero16) {
  const __m256i ab = _mm256_adds_epi16(_mm256_packs_epi32(a, b), zero16);
  const __m256i cd = _mm256_adds_epi16(_mm256_packs_epi32(c, d), zero16);
  const __m256i bytes = _mm256_packus_epi16(ab, cd);
  const __m256i by_position = _mm256_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15,  //
                                               0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  return _mm256_shuffle_epi8(bytes, by_position);
}

// 16 channels (from c0) of 8 positions as NHWC bytes: in 128-bit lane L of q[j], the 16 channels
// of position 4L + j. Rows past `nc` are zero.
template <bool kFull>
void requantize_16x8(const Requant& r, size_t c0, size_t nc, const int32_t* acc, size_t acc_stride, __m256i zero16,
                     __m256i q[4]) {
  auto row = [&](size_t i) {
    return kFull || i < nc ? requantize(r, c0 + i, acc + (c0 + i) * acc_stride) : _mm256_setzero_si256();
  };
  __m256i p[4];
  for (size_t k = 0; k < 4; ++k) p[k] = narrow4(row(4 * k), row(4 * k + 1), row(4 * k + 2), row(4 * k + 3), zero16);
  const __m256i t0 = _mm256_unpacklo_epi32(p[0], p[1]), t1 = _mm256_unpackhi_epi32(p[0], p[1]);
  const __m256i t2 = _mm256_unpacklo_epi32(p[2], p[3]), t3 = _mm256_unpackhi_epi32(p[2], p[3]);
  q[0] = _mm256_unpacklo_epi64(t0, t2);
  q[1] = _mm256_unpackhi_epi64(t0, t2);
  q[2] = _mm256_unpacklo_epi64(t1, t3);
  q[3] = _mm256_unpackhi_epi64(t1, t3);
}

__m128i lane(__m256i v, int l) { return l == 0 ? _mm256_castsi256_si128(v) : _mm256_extracti128_si256(v, 1); }

}  // namespace

void qu8_spconv_pack_avx2(size_t count, const uint8_t* src, size_t stride, size_t ic, uint8_t* dst, size_t plane_bytes,
                          uint8_t x_zero) {
  const size_t full = ic / 4, tail = ic % 4;
  for (size_t p0 = 0; p0 < count; p0 += 8) {
    const size_t np = count - p0 < 8 ? count - p0 : 8;
    for (size_t c0 = 0; c0 < full; c0 += 8) {
      const size_t nc = full - c0 < 8 ? full - c0 : 8;
      __m256i r[8];
      for (size_t i = 0; i < 8; ++i) {
        if (i >= np) {
          r[i] = _mm256_setzero_si256();
          continue;
        }
        const auto* s = reinterpret_cast<const int*>(src + (p0 + i) * stride + c0 * 4);
        r[i] = nc == 8 ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s)) : _mm256_maskload_epi32(s, first(nc));
      }
      transpose8x8(r);
      for (size_t c = 0; c < nc; ++c) {
        uint8_t* d = dst + (c0 + c) * plane_bytes + p0 * 4;
        if (np == 8) {
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(d), r[c]);
        } else {
          _mm256_maskstore_epi32(reinterpret_cast<int*>(d), first(np), r[c]);
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

// Requantizes channel by channel, 8 positions to a vector, as the AVX-512 epilogue does with 16.
// Accumulator rows are read 8 positions at a time, past `count` within the tile's row.
void qu8_spconv_epilogue_avx2(const Qu8SpconvWeights& w, const int32_t* acc, size_t acc_stride, size_t count, uint8_t* y,
                              size_t y_stride) {
  const size_t oc = static_cast<size_t>(w.oc);
  const Requant r{w.comp.data(), w.bias.data(), w.scale.data()};
  const __m256i zero16 = _mm256_set1_epi16(static_cast<int16_t>(w.y_zero));
  for (size_t m0 = 0; m0 < count; m0 += 8) {
    const size_t nm = count - m0 < 8 ? count - m0 : 8;
    for (size_t c0 = 0; c0 < oc; c0 += 16) {
      const size_t nc = oc - c0 < 16 ? oc - c0 : 16;
      __m256i q[4];
      if (nc == 16) {
        requantize_16x8<true>(r, c0, nc, acc + m0, acc_stride, zero16, q);
      } else {
        requantize_16x8<false>(r, c0, nc, acc + m0, acc_stride, zero16, q);
      }
      uint8_t* out = y + m0 * y_stride + c0;
      for (size_t m = 0; m < nm; ++m) {
        const __m128i bytes = lane(q[m % 4], static_cast<int>(m / 4));
        if (nc == 16) {
          _mm_storeu_si128(reinterpret_cast<__m128i*>(out + m * y_stride), bytes);
        } else {
          alignas(16) uint8_t row[16];
          _mm_store_si128(reinterpret_cast<__m128i*>(row), bytes);
          std::memcpy(out + m * y_stride, row, nc);
        }
      }
    }
  }
}

}  // namespace sparrow::kernels
