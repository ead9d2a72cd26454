// qu8-spconv microkernel on AVX-VNNI (VEX vpdpbusd): the AVX-512 VNNI kernel at 8 lanes, 16
// positions (2 ymm) x 4 output channels, 8 accumulators. The same s32 sums.
#include <immintrin.h>

#include "kernels/qu8_spconv.h"

namespace sparrow::kernels {

namespace {

// The first chunk's sums start a row; later chunks add to them.
void store(int32_t* out, __m256i a, bool first) {
  auto* p = reinterpret_cast<__m256i*>(out);
  _mm256_storeu_si256(p, first ? a : _mm256_add_epi32(a, _mm256_loadu_si256(p)));
}

}  // namespace

void qu8_spconv_ukernel_16x4_avxvnni(const Qu8SpconvWeights& w, size_t first, size_t last, const uint8_t* panel, int32_t* acc) {
  constexpr int kRows = 4, kTile = 16;
  const size_t groups = static_cast<size_t>(w.groups);
  for (size_t seg = first; seg < last; ++seg) {
    __m256i a[kRows][2];
    for (int r = 0; r < kRows; ++r) a[r][0] = a[r][1] = _mm256_setzero_si256();
    const Qu8SpconvEntry* e = w.entries.data() + w.segment_start[seg];
    for (uint32_t s = w.segment_steps[seg]; s != 0; --s, e += kRows) {
      for (int r = 0; r < kRows; ++r) {
        const uint8_t* x = panel + e[r].offset;
        const __m256i k = _mm256_set1_epi32(e[r].weights);
        a[r][0] = _mm256_dpbusd_avx_epi32(a[r][0], _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x)), k);
        a[r][1] = _mm256_dpbusd_avx_epi32(a[r][1], _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + 32)), k);
      }
    }
    const int32_t* rows = w.rows.data() + (seg % groups) * kRows;
    for (int r = 0; r < kRows; ++r) {
      store(acc + rows[r] * kTile, a[r][0], seg < groups);
      store(acc + rows[r] * kTile + 8, a[r][1], seg < groups);
    }
  }
}

}  // namespace sparrow::kernels
