// f32-spmm on AVX2, 32 positions (4 ymm) per row, 8 accumulators against the FMA latency: the
// unstructured kernel alternates its entries between two sets of 4; the 4x1 kernel adds
// channels 0-1 of a block into one set and 2-3 into the other (16 would not fit 16 registers).
#include <immintrin.h>

#include "kernels/f32_spconv.h"

namespace sparrow::kernels {
namespace {

constexpr int kNr = 4;  // ymm per row: 32 positions

}  // namespace

void f32_spmm_1x1_32x1_avx2(const F32SpmmArgs& a) {
  const auto* e = static_cast<const F32SpNz*>(a.entries);
  for (size_t r = 0; r < a.rows; ++r) {
    float* out = a.acc + r * 8 * kNr;
    __m256 c0[kNr], c1[kNr];
    for (int k = 0; k < kNr; ++k) {
      c0[k] = a.accumulate ? _mm256_loadu_ps(out + 8 * k) : _mm256_setzero_ps();
      c1[k] = _mm256_setzero_ps();
    }
    uint32_t n = a.counts[r];
    for (; n >= 2; n -= 2, e += 2) {
      const float* p0 = a.base + e[0].off;
      const float* p1 = a.base + e[1].off;
      const __m256 w0 = _mm256_broadcast_ss(&e[0].w), w1 = _mm256_broadcast_ss(&e[1].w);
      for (int k = 0; k < kNr; ++k) {
        c0[k] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(p0 + 8 * k), c0[k]);
        c1[k] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(p1 + 8 * k), c1[k]);
      }
    }
    if (n) {
      const float* p0 = a.base + e->off;
      const __m256 w0 = _mm256_broadcast_ss(&e->w);
      for (int k = 0; k < kNr; ++k) c0[k] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(p0 + 8 * k), c0[k]);
      ++e;
    }
    for (int k = 0; k < kNr; ++k) _mm256_storeu_ps(out + 8 * k, _mm256_add_ps(c0[k], c1[k]));
  }
}

void f32_spmm_4x1_32x1_avx2(const F32SpmmArgs& a) {
  const auto* e = static_cast<const F32SpBlock4*>(a.entries);
  const size_t cs = a.channel_stride;
  for (size_t r = 0; r < a.rows; ++r) {
    float* out = a.acc + r * 8 * kNr;
    __m256 c0[kNr], c1[kNr];
    for (int k = 0; k < kNr; ++k) {
      c0[k] = a.accumulate ? _mm256_loadu_ps(out + 8 * k) : _mm256_setzero_ps();
      c1[k] = _mm256_setzero_ps();
    }
    for (uint32_t i = 0; i < a.counts[r]; ++i, ++e) {
      const float* p = a.base + e->off;
      const __m256 w0 = _mm256_broadcast_ss(&e->w[0]), w1 = _mm256_broadcast_ss(&e->w[1]);
      const __m256 w2 = _mm256_broadcast_ss(&e->w[2]), w3 = _mm256_broadcast_ss(&e->w[3]);
      for (int k = 0; k < kNr; ++k) {
        c0[k] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(p + 8 * k), c0[k]);
        c1[k] = _mm256_fmadd_ps(w2, _mm256_loadu_ps(p + 2 * cs + 8 * k), c1[k]);
      }
      for (int k = 0; k < kNr; ++k) {
        c0[k] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(p + cs + 8 * k), c0[k]);
        c1[k] = _mm256_fmadd_ps(w3, _mm256_loadu_ps(p + 3 * cs + 8 * k), c1[k]);
      }
    }
    for (int k = 0; k < kNr; ++k) _mm256_storeu_ps(out + 8 * k, _mm256_add_ps(c0[k], c1[k]));
  }
}

}  // namespace sparrow::kernels
