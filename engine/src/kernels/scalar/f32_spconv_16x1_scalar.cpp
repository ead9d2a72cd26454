// f32-spconv on plain C++ (any CPU): 16 positions per tile; the loops over them are left to the
// compiler's baseline vectorisation.
#include <cstring>

#include "kernels/f32_spconv.h"

namespace sparrow::kernels {
namespace {

constexpr size_t kM = 16;

}  // namespace

void f32_spmm_1x1_16x1_scalar(const F32SpmmArgs& a) {
  const auto* e = static_cast<const F32SpNz*>(a.entries);
  for (size_t r = 0; r < a.rows; ++r) {
    float acc[kM];
    float* out = a.acc + r * kM;
    for (size_t j = 0; j < kM; ++j) acc[j] = a.accumulate ? out[j] : 0.0f;
    for (uint32_t i = 0; i < a.counts[r]; ++i, ++e) {
      const float* p = a.base + e->off;
      const float w = e->w;
      // An empty barrier: without it GCC 12 vectorises this loop across entries (gathers) instead
      // of the one below across positions, 4x slower.
      __asm__ volatile("" : : "r"(p));
      for (size_t j = 0; j < kM; ++j) acc[j] += w * p[j];
    }
    std::memcpy(out, acc, sizeof(acc));
  }
}

void f32_spmm_4x1_16x1_scalar(const F32SpmmArgs& a) {
  const auto* e = static_cast<const F32SpBlock4*>(a.entries);
  for (size_t r = 0; r < a.rows; ++r) {
    float acc[kM];
    float* out = a.acc + r * kM;
    for (size_t j = 0; j < kM; ++j) acc[j] = a.accumulate ? out[j] : 0.0f;
    for (uint32_t i = 0; i < a.counts[r]; ++i, ++e) {
      for (size_t k = 0; k < 4; ++k) {
        const float* p = a.base + e->off + k * a.channel_stride;
        for (size_t j = 0; j < kM; ++j) acc[j] += e->w[k] * p[j];
      }
    }
    std::memcpy(out, acc, sizeof(acc));
  }
}

void f32_spstore_16_scalar(const F32SpStoreArgs& a) {
  for (size_t r = 0; r < a.rows; ++r) {
    for (size_t j = 0; j < kM; ++j) {
      float* d = a.dst[j];
      if (!d) continue;
      const float v = ops::apply_activation(a.act, a.acc[r * kM + j] + a.bias[r]);
      float& out = d[(a.oc0 + r) * a.channel_stride];
      out = a.accumulate ? out + v : v;
    }
  }
}

void f32_sppack_scalar(const F32SpPackArgs& a) {
  for (size_t c = 0; c < a.padded_channels; ++c) {
    float* d = a.dst + c * a.dst_stride;
    const bool real = c < a.channels;
    for (size_t j = 0; j < a.pixels; ++j) d[j] = real && j >= a.begin && j < a.end ? a.src[(j - a.begin) * a.src_stride + c] : 0.0f;
  }
}

}  // namespace sparrow::kernels
