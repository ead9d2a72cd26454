// f32-spconv panel pack on AVX-512: 16 pixels x 16 channels at a time through a register
// transpose; masked loads and stores at the edges, so nothing past either count is touched. Full
// rows and blocks go without a mask, which costs on Zen 5: the pack of a stride-2 3x3 conv of 64
// channels at 160x160 took 408-756 us on one core with masks everywhere, 316-389 without
// (kernel_bench, the conv's other steps skipped, 4 interleaved rounds).
#include "kernels/f32_spconv.h"
#include "kernels/x86/avx512/f32_transpose16x16_avx512.h"

namespace sparrow::kernels {

void f32_sppack_avx512(const F32SpPackArgs& a) {
  for (size_t j0 = 0; j0 < a.pixels; j0 += 16) {
    const size_t np = a.pixels - j0 < 16 ? a.pixels - j0 : 16;
    const __mmask16 pixel_mask = static_cast<__mmask16>((1u << np) - 1);
    const bool any = j0 < a.end && j0 + np > a.begin;
    auto store = [&](float* d, __m512 v) {
      if (np == 16) {
        _mm512_storeu_ps(d, v);
      } else {
        _mm512_mask_storeu_ps(d, pixel_mask, v);
      }
    };
    for (size_t c0 = 0; c0 < a.padded_channels; c0 += 16) {
      const size_t nout = a.padded_channels - c0 < 16 ? a.padded_channels - c0 : 16;
      if (!any) {
        for (size_t c = 0; c < nout; ++c) store(a.dst + (c0 + c) * a.dst_stride + j0, _mm512_setzero_ps());
        continue;
      }
      const size_t nc = c0 >= a.channels ? 0 : (a.channels - c0 < 16 ? a.channels - c0 : 16);
      const __mmask16 channel_mask = static_cast<__mmask16>((1u << nc) - 1);
      __m512 rows[16], cols[16];
      for (size_t i = 0; i < 16; ++i) {
        const size_t j = j0 + i;
        const float* src = a.src + (j - a.begin) * a.src_stride + c0;
        rows[i] = j < a.begin || j >= a.end ? _mm512_setzero_ps()
                  : nc == 16             ? _mm512_loadu_ps(src)
                                         : _mm512_maskz_loadu_ps(channel_mask, src);
      }
      f32_transpose16x16_avx512(rows, cols);
      for (size_t c = 0; c < nout; ++c) store(a.dst + (c0 + c) * a.dst_stride + j0, cols[c]);
    }
  }
}

}  // namespace sparrow::kernels
