// f32-spconv panel pack on AVX2: 8 pixels x 8 channels at a time through a register transpose;
// masked loads and stores at the edges, so nothing past either count is touched.
#include "kernels/f32_spconv.h"
#include "kernels/x86/avx2/f32_transpose8x8_avx2.h"

namespace sparrow::kernels {

void f32_sppack_avx2(size_t pixels, size_t channels, size_t padded_channels, const float* src, size_t src_stride,
                     float* dst, size_t dst_stride) {
  for (size_t j0 = 0; j0 < pixels; j0 += 8) {
    const size_t np = pixels - j0 < 8 ? pixels - j0 : 8;
    const __m256i pixel_mask = f32_lane_mask_avx2(np);
    for (size_t c0 = 0; c0 < padded_channels; c0 += 8) {
      const size_t nc = c0 >= channels ? 0 : (channels - c0 < 8 ? channels - c0 : 8);
      const __m256i channel_mask = f32_lane_mask_avx2(nc);
      __m256 rows[8], cols[8];
      for (size_t i = 0; i < 8; ++i) {
        rows[i] = i < np ? _mm256_maskload_ps(src + (j0 + i) * src_stride + c0, channel_mask) : _mm256_setzero_ps();
      }
      f32_transpose8x8_avx2(rows, cols);
      const size_t nout = padded_channels - c0 < 8 ? padded_channels - c0 : 8;
      for (size_t c = 0; c < nout; ++c) _mm256_maskstore_ps(dst + (c0 + c) * dst_stride + j0, pixel_mask, cols[c]);
    }
  }
}

}  // namespace sparrow::kernels
