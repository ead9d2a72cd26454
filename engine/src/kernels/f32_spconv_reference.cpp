// The plain pieces of f32-spconv: the reference convolution the variants are tested against,
// the sparsity profile the kernel rows select by, and the table of variants.
#include <algorithm>

#include "kernels/f32_spconv.h"
#include "kernels/f32_spconv_jit.h"

namespace sparrow::kernels {

void f32_spconv_reference(const F32SpconvShape& s, const float* x, const float* weights, const float* bias,
                          ops::Activation act, bool accumulate, float* y) {
  for (int64_t n = 0; n < s.n; ++n) {
    for (int64_t oy = 0; oy < s.oh; ++oy) {
      for (int64_t ox = 0; ox < s.ow; ++ox) {
        float* out = y + ((n * s.oh + oy) * s.ow + ox) * s.oc;
        for (int64_t oc = 0; oc < s.oc; ++oc) {
          double sum = bias ? bias[oc] : 0.0;
          for (int64_t kh = 0; kh < s.kh; ++kh) {
            const int64_t iy = oy * s.sh - s.pad_top + kh;
            if (iy < 0 || iy >= s.h) continue;
            for (int64_t kw = 0; kw < s.kw; ++kw) {
              const int64_t ix = ox * s.sw - s.pad_left + kw;
              if (ix < 0 || ix >= s.w) continue;
              const float* in = x + ((n * s.h + iy) * s.w + ix) * s.ic;
              for (int64_t c = 0; c < s.ic; ++c) sum += double{in[c]} * weights[((oc * s.ic + c) * s.kh + kh) * s.kw + kw];
            }
          }
          const float v = ops::apply_activation(act, static_cast<float>(sum));
          out[oc] = accumulate ? out[oc] + v : v;
        }
      }
    }
  }
}

F32SparsityProfile f32_sparsity_profile(const F32SpconvShape& s, const float* weights) {
  const int64_t kvol = s.kh * s.kw;
  int64_t zeros = 0, zero_blocks = 0, blocks = 0;
  for (int64_t oc = 0; oc < s.oc; ++oc) {
    for (int64_t t = 0; t < kvol; ++t) {
      for (int64_t c0 = 0; c0 < s.ic; c0 += 4) {
        bool all_zero = true;
        for (int64_t c = c0; c < std::min(s.ic, c0 + 4); ++c) {
          const bool zero = weights[(oc * s.ic + c) * kvol + t] == 0.0f;
          zeros += zero;
          all_zero = all_zero && zero;
        }
        zero_blocks += all_zero;
        ++blocks;
      }
    }
  }
  const double total = static_cast<double>(s.oc * s.ic * kvol);
  return {total > 0 ? static_cast<double>(zeros) / total : 0.0,
          blocks > 0 ? static_cast<double>(zero_blocks) / static_cast<double>(blocks) : 0.0};
}

const std::vector<F32SpconvVariant>& f32_spconv_variants() {
  static const std::vector<F32SpconvVariant> variants = {
      // Code generated per layer (kernels/f32_spconv_jit.h): 16 positions x 31 rows of registers,
      // any zeros (block 1: 4-blocks are entries like others).
      {"sparse-conv-f32-1x1-jit-avx512", Isa::kAvx512, 1, kF32SpJitTile, nullptr, f32_spstore_16_avx512, f32_sppack_avx512,
       f32_spconv_jit_generate_avx512, f32_spstore_planar_16_avx512},
      {"sparse-conv-f32-4x1-64x1-avx512", Isa::kAvx512, 4, 64, f32_spmm_4x1_64x1_avx512, f32_spstore_64_avx512, f32_sppack_avx512,
       nullptr, f32_spstore_planar_64_avx512},
      {"sparse-conv-f32-1x1-64x1-avx512", Isa::kAvx512, 1, 64, f32_spmm_1x1_64x1_avx512, f32_spstore_64_avx512, f32_sppack_avx512,
       nullptr, f32_spstore_planar_64_avx512},
      {"sparse-conv-f32-4x1-32x1-avx2", Isa::kAvx2, 4, 32, f32_spmm_4x1_32x1_avx2, f32_spstore_32_avx2, f32_sppack_avx2},
      {"sparse-conv-f32-1x1-32x1-avx2", Isa::kAvx2, 1, 32, f32_spmm_1x1_32x1_avx2, f32_spstore_32_avx2, f32_sppack_avx2},
      {"sparse-conv-f32-4x1-16x1-scalar", Isa::kScalar, 4, 16, f32_spmm_4x1_16x1_scalar, f32_spstore_16_scalar, f32_sppack_scalar,
       nullptr, f32_spstore_16_scalar},
      {"sparse-conv-f32-1x1-16x1-scalar", Isa::kScalar, 1, 16, f32_spmm_1x1_16x1_scalar, f32_spstore_16_scalar, f32_sppack_scalar,
       nullptr, f32_spstore_16_scalar},
  };
  return variants;
}

}  // namespace sparrow::kernels
