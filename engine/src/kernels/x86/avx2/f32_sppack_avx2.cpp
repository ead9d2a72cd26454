// f32-spconv panel pack on AVX2: 8 pixels x 8 channels at a time through a register transpose;
// masked loads and stores at the edges, so nothing past either count is touched, and only there
// (a masked store costs several plain ones on AMD cores).
#include "kernels/f32_spconv.h"
#include "kernels/x86/avx2/f32_transpose8x8_avx2.h"

namespace sparrow::kernels {

void f32_sppack_avx2(const F32SpPackArgs& a) {
  for (size_t j0 = 0; j0 < a.pixels; j0 += 8) {
    const size_t np = a.pixels - j0 < 8 ? a.pixels - j0 : 8;
    const __m256i pixel_mask = f32_lane_mask_avx2(np);
    const bool any = j0 < a.end && j0 + np > a.begin;
    auto store = [&](float* d, __m256 v) {
      if (np == 8) {
        _mm256_storeu_ps(d, v);
      } else {
        _mm256_maskstore_ps(d, pixel_mask, v);
      }
    };
    for (size_t c0 = 0; c0 < a.padded_channels; c0 += 8) {
      const size_t nout = a.padded_channels - c0 < 8 ? a.padded_channels - c0 : 8;
      if (!any) {
        for (size_t c = 0; c < nout; ++c) store(a.dst + (c0 + c) * a.dst_stride + j0, _mm256_setzero_ps());
        continue;
      }
      const size_t nc = c0 >= a.channels ? 0 : (a.channels - c0 < 8 ? a.channels - c0 : 8);
      const __m256i channel_mask = f32_lane_mask_avx2(nc);
      __m256 rows[8], cols[8];
      for (size_t i = 0; i < 8; ++i) {
        const size_t j = j0 + i;
        const float* src = a.src + (j - a.begin) * a.src_stride + c0;
        rows[i] = j < a.begin || j >= a.end ? _mm256_setzero_ps()
                  : nc == 8              ? _mm256_loadu_ps(src)
                                         : _mm256_maskload_ps(src, channel_mask);
      }
      f32_transpose8x8_avx2(rows, cols);
      for (size_t c = 0; c < nout; ++c) store(a.dst + (c0 + c) * a.dst_stride + j0, cols[c]);
    }
  }
}

}  // namespace sparrow::kernels
