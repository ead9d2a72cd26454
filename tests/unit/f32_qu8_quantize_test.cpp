// f32-qu8-quantize-nhwc variants against the reference, on every variant this process may run:
// pixel counts around the 16-pixel step, 1 to 4 planes, grids with zero points across the byte,
// and the values that test the clamping (NaN, infinities, far beyond the grid, exact ties). ctest
// runs this again under SPARROW_ISA=avx2 and scalar, where the variants are skipped.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "kernels/f32_qu8_quantize.h"
#include "support/test_support.h"

namespace sparrow::kernels {
namespace {

std::vector<size_t> pixel_counts() {
  std::vector<size_t> n = {1, 2, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 4096};
  std::mt19937 rng(3);
  for (int i = 0; i < 12; ++i) n.push_back(1 + rng() % 3000);
  return n;
}

// Planes of random values over the grid and a little beyond, with special values sprinkled in.
std::vector<float> planes(size_t pixels, size_t channels, size_t stride, float scale, int32_t zero, std::mt19937& rng) {
  std::vector<float> x(channels * stride, 0.0f);
  std::uniform_real_distribution<float> u(-20.0f - static_cast<float>(zero), 275.0f - static_cast<float>(zero));
  const float special[] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                           -std::numeric_limits<float>::infinity(), 1e30f, -1e30f, 0.5f * scale, 2.5f * scale, -0.0f};
  for (size_t c = 0; c < channels; ++c) {
    for (size_t p = 0; p < pixels; ++p) {
      x[c * stride + p] = rng() % 16 == 0 ? special[rng() % 8] : u(rng) * scale;
    }
  }
  return x;
}

class F32Qu8Quantize : public ::testing::TestWithParam<F32Qu8QuantizeVariant> {};

TEST_P(F32Qu8Quantize, MatchesReference) {
  const F32Qu8QuantizeVariant& v = GetParam();
  if (!isa_available(v.isa)) GTEST_SKIP() << v.name << ": this process has no " << isa_name(v.isa);
  std::mt19937 rng(1);
  for (size_t pixels : pixel_counts()) {
    for (size_t channels = 1; channels <= kQu8QuantizeMaxChannels; ++channels) {
      const float scale = 1.0f / static_cast<float>(1 + rng() % 300);
      const int32_t zero = static_cast<int32_t>(rng() % 256);
      const size_t stride = pixels + rng() % 7;
      const std::vector<float> x = planes(pixels, channels, stride, scale, zero, rng);
      std::vector<uint8_t> expected(pixels * channels), got(pixels * channels + 64, 0xA5);
      f32_qu8_quantize_nhwc_reference(pixels, channels, x.data(), stride, expected.data(), 1.0f / scale, zero);
      v.ukernel(pixels, channels, x.data(), stride, got.data(), 1.0f / scale, zero);
      for (size_t i = 0; i < expected.size(); ++i) {
        ASSERT_EQ(got[i], expected[i]) << v.name << " pixels=" << pixels << " channels=" << channels << " at " << i;
      }
      for (size_t i = expected.size(); i < got.size(); ++i) ASSERT_EQ(got[i], 0xA5) << v.name << " wrote past the output";
    }
  }
}

// The reference itself on the grid's edges: saturation, half to even, NaN to the zero point's 0.
TEST(F32Qu8QuantizeReference, RoundsHalfToEvenAndSaturates) {
  const float x[] = {0.5f, 1.5f, 2.5f, -0.5f, 1000.0f, -1000.0f, std::numeric_limits<float>::quiet_NaN(), 252.4f};
  uint8_t y[8];
  f32_qu8_quantize_nhwc_reference(8, 1, x, 8, y, 1.0f, 3);
  const uint8_t expected[] = {3, 5, 5, 3, 255, 0, 0, 255};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(y[i], expected[i]) << "at " << i;
}

INSTANTIATE_TEST_SUITE_P(Variants, F32Qu8Quantize, ::testing::ValuesIn(f32_qu8_quantize_variants()), test::VariantName());

}  // namespace
}  // namespace sparrow::kernels
