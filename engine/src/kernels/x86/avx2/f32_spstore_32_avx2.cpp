// f32-spconv epilogue on AVX2 for 32-position tiles: 8x8 transposes of the accumulators, then
// bias and activation on each pixel's 8 channels (one exp per 8 lanes for SiLU and Sigmoid) as
// they go to the NHWC output, adding to it when it holds a residual.
#include "kernels/f32_spconv.h"
#include "kernels/x86/avx2/f32_transpose8x8_avx2.h"

namespace sparrow::kernels {
namespace {

constexpr size_t kM = 32;

// e^x within about 2 ulp: x = n ln2 + r with |r| <= ln2/2, a degree-6 Taylor polynomial of e^r,
// times 2^n built in the exponent bits (the clamp keeps n within the normal range).
__m256 exp_ps(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.0f / 720);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
}

__m256 activate(ops::Activation act, __m256 v) {
  const __m256 one = _mm256_set1_ps(1.0f);
  switch (act) {
    case ops::Activation::kNone: return v;
    case ops::Activation::kRelu: return _mm256_max_ps(v, _mm256_setzero_ps());
    case ops::Activation::kSilu: return _mm256_div_ps(v, _mm256_add_ps(one, exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), v))));
    case ops::Activation::kSigmoid: return _mm256_div_ps(one, _mm256_add_ps(one, exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), v))));
  }
  return v;
}

}  // namespace

namespace {

// Bias and activation after the transpose, on each pixel's 8 channels: one pass over the
// accumulators instead of a pass that rewrote them and a second that read them back.
template <ops::Activation kAct>
void store(const F32SpStoreArgs& a) {
  for (size_t j0 = 0; j0 < kM; j0 += 8) {
    bool any = false;
    for (size_t j = 0; j < 8; ++j) any = any || a.dst[j0 + j];
    if (!any) continue;
    for (size_t r0 = 0; r0 < a.rows; r0 += 8) {
      const size_t nr = a.rows - r0 < 8 ? a.rows - r0 : 8;
      const __m256i mask = f32_lane_mask_avx2(nr);
      const __m256 bias = _mm256_maskload_ps(a.bias + r0, mask);
      __m256 rows[8], cols[8];
      for (size_t i = 0; i < 8; ++i) rows[i] = i < nr ? _mm256_loadu_ps(a.acc + (r0 + i) * kM + j0) : _mm256_setzero_ps();
      f32_transpose8x8_avx2(rows, cols);
      for (size_t j = 0; j < 8; ++j) {
        float* d = a.dst[j0 + j];
        if (!d) continue;
        d += a.oc0 + r0;
        const __m256 v = activate(kAct, _mm256_add_ps(cols[j], bias));
        if (nr == 8) {  // a masked store costs several plain ones on AMD cores
          _mm256_storeu_ps(d, a.accumulate ? _mm256_add_ps(_mm256_loadu_ps(d), v) : v);
          continue;
        }
        _mm256_maskstore_ps(d, mask, a.accumulate ? _mm256_add_ps(_mm256_maskload_ps(d, mask), v) : v);
      }
    }
  }
}

}  // namespace

void f32_spstore_32_avx2(const F32SpStoreArgs& a) {
  switch (a.act) {
    case ops::Activation::kNone: return store<ops::Activation::kNone>(a);
    case ops::Activation::kRelu: return store<ops::Activation::kRelu>(a);
    case ops::Activation::kSilu: return store<ops::Activation::kSilu>(a);
    case ops::Activation::kSigmoid: return store<ops::Activation::kSigmoid>(a);
  }
}

}  // namespace sparrow::kernels
