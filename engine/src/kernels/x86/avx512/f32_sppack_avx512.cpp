// f32-spconv panel pack on AVX-512: 16 pixels x 16 channels at a time through a register
// transpose; masked loads and stores at the edges, so nothing past either count is touched.
#include "kernels/f32_spconv.h"
#include "kernels/x86/avx512/f32_transpose16x16_avx512.h"

namespace sparrow::kernels {

void f32_sppack_avx512(size_t pixels, size_t channels, size_t padded_channels, const float* src, size_t src_stride,
                       float* dst, size_t dst_stride) {
  for (size_t j0 = 0; j0 < pixels; j0 += 16) {
    const size_t np = pixels - j0 < 16 ? pixels - j0 : 16;
    const __mmask16 pixel_mask = static_cast<__mmask16>((1u << np) - 1);
    for (size_t c0 = 0; c0 < padded_channels; c0 += 16) {
      const size_t nc = c0 >= channels ? 0 : (channels - c0 < 16 ? channels - c0 : 16);
      const __mmask16 channel_mask = static_cast<__mmask16>((1u << nc) - 1);
      __m512 rows[16], cols[16];
      for (size_t i = 0; i < 16; ++i) {
        rows[i] = i < np ? _mm512_maskz_loadu_ps(channel_mask, src + (j0 + i) * src_stride + c0) : _mm512_setzero_ps();
      }
      f32_transpose16x16_avx512(rows, cols);
      const size_t nout = padded_channels - c0 < 16 ? padded_channels - c0 : 16;
      for (size_t c = 0; c < nout; ++c) _mm512_mask_storeu_ps(dst + (c0 + c) * dst_stride + j0, pixel_mask, cols[c]);
    }
  }
}

}  // namespace sparrow::kernels
