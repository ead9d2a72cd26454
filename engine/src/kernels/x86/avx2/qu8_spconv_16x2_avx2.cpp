// qu8-spconv microkernel on AVX2 without VNNI, exact for any s8 weight: vpmaddubsw would add
// two u8 x s8 products in 16 bits with saturation, so the pixels are widened to s16 instead and
// vpmaddwd sums pairs into s32 (channels 0+1 and 2+3 of a block in adjacent lanes); the pairs
// are folded once per row with vphaddd. 16 positions x 2 output channels, 8 accumulators.
#include <immintrin.h>

#include "kernels/qu8_spconv.h"

namespace sparrow::kernels {
namespace {

// The block's 4 weights as s16, repeated in every 64 bits.
__m256i widened_block(int32_t weights) {
  return _mm256_broadcastq_epi64(_mm_cvtepi8_epi16(_mm_cvtsi32_si128(weights)));
}

// Positions 4h .. 4h + 7 from pair sums of positions 4h .. 4h + 3 (a) and 4h + 4 .. 4h + 7 (b).
__m256i fold(__m256i a, __m256i b) { return _mm256_permute4x64_epi64(_mm256_hadd_epi32(a, b), 0xD8); }

// The first chunk's sums start a row; later chunks add to them.
void store(int32_t* out, __m256i a, bool first) {
  auto* p = reinterpret_cast<__m256i*>(out);
  _mm256_storeu_si256(p, first ? a : _mm256_add_epi32(a, _mm256_loadu_si256(p)));
}

}  // namespace

void qu8_spconv_ukernel_16x2_avx2(const Qu8SpconvWeights& w, size_t first, size_t last, const uint8_t* panel, int32_t* acc) {
  constexpr int kRows = 2, kTile = 16;
  const size_t groups = static_cast<size_t>(w.groups);
  for (size_t seg = first; seg < last; ++seg) {
    __m256i a[kRows][4];
    for (int r = 0; r < kRows; ++r) {
      for (int q = 0; q < 4; ++q) a[r][q] = _mm256_setzero_si256();
    }
    const Qu8SpconvEntry* e = w.entries.data() + w.segment_start[seg];
    for (uint32_t s = w.segment_steps[seg]; s != 0; --s, e += kRows) {
      for (int r = 0; r < kRows; ++r) {
        const uint8_t* x = panel + e[r].offset;
        const __m256i k = widened_block(e[r].weights);
        for (int q = 0; q < 4; ++q) {
          const __m256i pixels = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + 16 * q)));
          a[r][q] = _mm256_add_epi32(a[r][q], _mm256_madd_epi16(pixels, k));
        }
      }
    }
    const int32_t* rows = w.rows.data() + (seg % groups) * kRows;
    for (int r = 0; r < kRows; ++r) {
      store(acc + rows[r] * kTile, fold(a[r][0], a[r][1]), seg < groups);
      store(acc + rows[r] * kTile + 8, fold(a[r][2], a[r][3]), seg < groups);
    }
  }
}

}  // namespace sparrow::kernels
