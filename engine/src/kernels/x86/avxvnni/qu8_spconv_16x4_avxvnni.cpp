// qu8-spconv microkernel on AVX-VNNI (VEX vpdpbusd): the AVX-512 VNNI kernel at 8 lanes, 16
// positions (2 ymm) x 4 output channels, 8 accumulators. The same s32 sums.
#include <immintrin.h>

#include "kernels/qu8_spconv.h"

namespace sparrow::kernels {

void qu8_spconv_ukernel_16x4_avxvnni(const Qu8SpconvWeights& w, const uint8_t* panel, int32_t* acc) {
  constexpr int kRows = 4, kTile = 16;
  for (size_t grp = 0; grp < w.group_steps.size(); ++grp) {
    __m256i a[kRows][2];
    for (int r = 0; r < kRows; ++r) a[r][0] = a[r][1] = _mm256_setzero_si256();
    const Qu8SpconvEntry* e = w.entries.data() + w.group_start[grp];
    for (uint32_t s = w.group_steps[grp]; s != 0; --s, e += kRows) {
      for (int r = 0; r < kRows; ++r) {
        const uint8_t* x = panel + e[r].offset;
        const __m256i k = _mm256_set1_epi32(e[r].weights);
        a[r][0] = _mm256_dpbusd_avx_epi32(a[r][0], _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x)), k);
        a[r][1] = _mm256_dpbusd_avx_epi32(a[r][1], _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + 32)), k);
      }
    }
    const int32_t* rows = w.rows.data() + grp * kRows;
    for (int r = 0; r < kRows; ++r) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + rows[r] * kTile), a[r][0]);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + rows[r] * kTile + 8), a[r][1]);
    }
  }
}

}  // namespace sparrow::kernels
