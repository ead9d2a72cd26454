// f32-spmm on AVX-512, 64 positions (4 zmm) per row. FMA latency needs about 8 independent
// accumulators: the unstructured kernel alternates its entries between two sets of 4, the 4x1
// kernel keeps one set per channel of the block (16); the sets are summed once per row.
#include <immintrin.h>

#include "kernels/f32_spconv.h"

namespace sparrow::kernels {
namespace {

constexpr int kNr = 4;  // zmm per row: 64 positions

}  // namespace

void f32_spmm_1x1_64x1_avx512(const F32SpmmArgs& a) {
  const auto* e = static_cast<const F32SpNz*>(a.entries);
  for (size_t r = 0; r < a.rows; ++r) {
    float* out = a.acc + r * 16 * kNr;
    __m512 c0[kNr], c1[kNr];
    for (int k = 0; k < kNr; ++k) {
      c0[k] = a.accumulate ? _mm512_loadu_ps(out + 16 * k) : _mm512_setzero_ps();
      c1[k] = _mm512_setzero_ps();
    }
    uint32_t n = a.counts[r];
    for (; n >= 2; n -= 2, e += 2) {
      const float* p0 = a.base + e[0].off;
      const float* p1 = a.base + e[1].off;
      const __m512 w0 = _mm512_set1_ps(e[0].w), w1 = _mm512_set1_ps(e[1].w);
      for (int k = 0; k < kNr; ++k) {
        c0[k] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(p0 + 16 * k), c0[k]);
        c1[k] = _mm512_fmadd_ps(w1, _mm512_loadu_ps(p1 + 16 * k), c1[k]);
      }
    }
    if (n) {
      const float* p0 = a.base + e->off;
      const __m512 w0 = _mm512_set1_ps(e->w);
      for (int k = 0; k < kNr; ++k) c0[k] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(p0 + 16 * k), c0[k]);
      ++e;
    }
    for (int k = 0; k < kNr; ++k) _mm512_storeu_ps(out + 16 * k, _mm512_add_ps(c0[k], c1[k]));
  }
}

void f32_spmm_4x1_64x1_avx512(const F32SpmmArgs& a) {
  const auto* e = static_cast<const F32SpBlock4*>(a.entries);
  const size_t cs = a.channel_stride;
  for (size_t r = 0; r < a.rows; ++r) {
    float* out = a.acc + r * 16 * kNr;
    __m512 c[4][kNr];
    for (int k = 0; k < kNr; ++k) {
      c[0][k] = a.accumulate ? _mm512_loadu_ps(out + 16 * k) : _mm512_setzero_ps();
      c[1][k] = c[2][k] = c[3][k] = _mm512_setzero_ps();
    }
    for (uint32_t i = 0; i < a.counts[r]; ++i, ++e) {
      const float* p = a.base + e->off;
      for (int l = 0; l < 4; ++l) {
        const __m512 w = _mm512_set1_ps(e->w[l]);
        for (int k = 0; k < kNr; ++k) c[l][k] = _mm512_fmadd_ps(w, _mm512_loadu_ps(p + l * cs + 16 * k), c[l][k]);
      }
    }
    for (int k = 0; k < kNr; ++k) {
      _mm512_storeu_ps(out + 16 * k, _mm512_add_ps(_mm512_add_ps(c[0][k], c[1][k]), _mm512_add_ps(c[2][k], c[3][k])));
    }
  }
}

}  // namespace sparrow::kernels
