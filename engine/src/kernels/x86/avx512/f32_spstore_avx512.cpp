// f32-spconv epilogue on AVX-512 for 64-position tiles (the intrinsic rows) and 16-position ones
// (the JIT row). NHWC: 16x16 transposes of the accumulators, then bias and activation on each
// pixel's 16 channels (one exp per 16 lanes for SiLU and Sigmoid) as they go to the output,
// adding to it when it holds a residual. Planar (NCHW): the same per accumulator row, untransposed.
#include <cstdint>

#include "kernels/f32_spconv.h"
#include "kernels/x86/avx512/f32_transpose16x16_avx512.h"

namespace sparrow::kernels {
namespace {

// e^x within about 2 ulp: x = n ln2 + r with |r| <= ln2/2, a degree-6 Taylor polynomial of e^r
// (its first omitted term is below 1.2e-7 relative), times 2^n by vscalefps.
__m512 exp_ps(__m512 x) {
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.3f)), _mm512_set1_ps(88.3f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.0f / 720);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

__m512 activate(ops::Activation act, __m512 v) {
  const __m512 one = _mm512_set1_ps(1.0f);
  switch (act) {
    case ops::Activation::kNone: return v;
    case ops::Activation::kRelu: return _mm512_max_ps(v, _mm512_setzero_ps());
    case ops::Activation::kSilu: return _mm512_div_ps(v, _mm512_add_ps(one, exp_ps(_mm512_sub_ps(_mm512_setzero_ps(), v))));
    case ops::Activation::kSigmoid: return _mm512_div_ps(one, _mm512_add_ps(one, exp_ps(_mm512_sub_ps(_mm512_setzero_ps(), v))));
  }
  return v;
}

// Bias and activation after the transpose, on each pixel's 16 channels: one pass over the
// accumulators instead of a pass that rewrote them and a second that read them back.
template <size_t kM, ops::Activation kAct>
void store(const F32SpStoreArgs& a) {
  for (size_t j0 = 0; j0 < kM; j0 += 16) {
    bool any = false;
    for (size_t j = 0; j < 16; ++j) any = any || a.dst[j0 + j];
    if (!any) continue;
    for (size_t r0 = 0; r0 < a.rows; r0 += 16) {
      const size_t nr = a.rows - r0 < 16 ? a.rows - r0 : 16;
      const __mmask16 mask = static_cast<__mmask16>((1u << nr) - 1);
      const __m512 bias = _mm512_maskz_loadu_ps(mask, a.bias + r0);
      __m512 rows[16], cols[16];
      for (size_t i = 0; i < 16; ++i) rows[i] = i < nr ? _mm512_loadu_ps(a.acc + (r0 + i) * kM + j0) : _mm512_setzero_ps();
      f32_transpose16x16_avx512(rows, cols);
      for (size_t j = 0; j < 16; ++j) {
        float* d = a.dst[j0 + j];
        if (!d) continue;
        d += a.oc0 + r0;
        const __m512 v = activate(kAct, _mm512_add_ps(cols[j], bias));
        if (nr == 16) {
          _mm512_storeu_ps(d, a.accumulate ? _mm512_add_ps(_mm512_loadu_ps(d), v) : v);
          continue;
        }
        _mm512_mask_storeu_ps(d, mask, a.accumulate ? _mm512_add_ps(_mm512_maskz_loadu_ps(mask, d), v) : v);
      }
    }
  }
}

template <size_t kM>
void store(const F32SpStoreArgs& a) {
  switch (a.act) {
    case ops::Activation::kNone: return store<kM, ops::Activation::kNone>(a);
    case ops::Activation::kRelu: return store<kM, ops::Activation::kRelu>(a);
    case ops::Activation::kSilu: return store<kM, ops::Activation::kSilu>(a);
    case ops::Activation::kSigmoid: return store<kM, ops::Activation::kSigmoid>(a);
  }
}

// A run of lanes whose pixels are adjacent: lane j of the run at base + j.
struct LaneRun {
  float* base;
  __mmask16 mask;
};

// The runs of 16 lanes' destinations (at most 16; 1 where the lanes are 16 adjacent pixels,
// 2 where a tile straddles the end of a row of a 3x3 conv's output, garbage lanes between).
size_t lane_runs(float* const* dst, LaneRun runs[16]) {
  size_t count = 0;
  for (size_t j = 0; j < 16; ++j) {
    if (!dst[j]) continue;
    if (j > 0 && dst[j - 1] && dst[j] == dst[j - 1] + 1) {
      runs[count - 1].mask = static_cast<__mmask16>(runs[count - 1].mask | (1u << j));
      continue;
    }
    // The address lane 0 would have; only the masked lanes are touched.
    runs[count++] = {reinterpret_cast<float*>(reinterpret_cast<uintptr_t>(dst[j]) - j * sizeof(float)),
                     static_cast<__mmask16>(1u << j)};
  }
  return count;
}

// Planar: each accumulator row is already one channel's 16 lanes, so a row goes out as one
// vector store per run of adjacent pixels, masked unless the run is all 16 lanes.
template <size_t kM, ops::Activation kAct>
void store_planar(const F32SpStoreArgs& a) {
  for (size_t j0 = 0; j0 < kM; j0 += 16) {
    LaneRun runs[16];
    const size_t count = lane_runs(a.dst + j0, runs);
    if (count == 0) continue;
    const bool whole = count == 1 && runs[0].mask == 0xFFFF;
    for (size_t r = 0; r < a.rows; ++r) {
      const __m512 v = activate(kAct, _mm512_add_ps(_mm512_loadu_ps(a.acc + r * kM + j0), _mm512_set1_ps(a.bias[r])));
      const size_t at = (a.oc0 + r) * a.channel_stride;
      if (whole) {
        float* d = runs[0].base + at;
        _mm512_storeu_ps(d, a.accumulate ? _mm512_add_ps(_mm512_loadu_ps(d), v) : v);
        continue;
      }
      for (size_t k = 0; k < count; ++k) {
        float* d = runs[k].base + at;
        const __mmask16 m = runs[k].mask;
        _mm512_mask_storeu_ps(d, m, a.accumulate ? _mm512_add_ps(_mm512_maskz_loadu_ps(m, d), v) : v);
      }
    }
  }
}

template <size_t kM>
void store_planar(const F32SpStoreArgs& a) {
  switch (a.act) {
    case ops::Activation::kNone: return store_planar<kM, ops::Activation::kNone>(a);
    case ops::Activation::kRelu: return store_planar<kM, ops::Activation::kRelu>(a);
    case ops::Activation::kSilu: return store_planar<kM, ops::Activation::kSilu>(a);
    case ops::Activation::kSigmoid: return store_planar<kM, ops::Activation::kSigmoid>(a);
  }
}

}  // namespace

void f32_spstore_64_avx512(const F32SpStoreArgs& a) { store<64>(a); }
void f32_spstore_16_avx512(const F32SpStoreArgs& a) { store<16>(a); }
void f32_spstore_planar_64_avx512(const F32SpStoreArgs& a) { store_planar<64>(a); }
void f32_spstore_planar_16_avx512(const F32SpStoreArgs& a) { store_planar<16>(a); }

}  // namespace sparrow::kernels
