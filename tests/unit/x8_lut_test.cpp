// x8-lut variants against the reference, on every variant this process may run. ctest runs this
// again under SPARROW_ISA=avx2 and SPARROW_ISA=scalar, where the richer variants are skipped.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "kernels/x8_lut.h"
#include "support/test_support.h"

namespace sparrow::kernels {
namespace {

std::vector<uint8_t> random_bytes(size_t n, std::mt19937& rng) {
  std::vector<uint8_t> v(n);
  for (uint8_t& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

// Lengths around every variant's step (1, 4, 32, 64 bytes) and its tail.
std::vector<size_t> lengths() {
  std::vector<size_t> n = {0, 1, 2, 3, 4, 5, 31, 32, 33, 63, 64, 65, 127, 128, 129, 1000, 4099};
  std::mt19937 rng(7);
  for (int i = 0; i < 20; ++i) n.push_back(rng() % 5000);
  return n;
}

class X8Lut : public ::testing::TestWithParam<X8LutVariant> {};

TEST_P(X8Lut, MatchesReference) {
  const X8LutVariant& v = GetParam();
  if (!isa_available(v.isa)) GTEST_SKIP() << v.name << ": this process has no " << isa_name(v.isa);
  std::mt19937 rng(1);
  for (size_t n : lengths()) {
    const std::vector<uint8_t> table = random_bytes(256, rng);
    const std::vector<uint8_t> x = random_bytes(n, rng);
    std::vector<uint8_t> expected(n), got(n + 64, 0xA5);
    x8_lut_reference(n, x.data(), expected.data(), table.data());
    v.ukernel(n, x.data(), got.data(), table.data());
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(got[i], expected[i]) << v.name << " n=" << n << " at " << i;
    for (size_t i = n; i < got.size(); ++i) ASSERT_EQ(got[i], 0xA5) << v.name << " wrote past n=" << n;
  }
}

// Every byte value through every table position, and x and y as one buffer.
TEST_P(X8Lut, EveryIndexInPlace) {
  const X8LutVariant& v = GetParam();
  if (!isa_available(v.isa)) GTEST_SKIP() << v.name << ": this process has no " << isa_name(v.isa);
  std::vector<uint8_t> table(256), data(256 * 3);
  for (int i = 0; i < 256; ++i) table[i] = static_cast<uint8_t>(255 - i * 7);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 5);
  std::vector<uint8_t> expected(data.size());
  x8_lut_reference(data.size(), data.data(), expected.data(), table.data());
  v.ukernel(data.size(), data.data(), data.data(), table.data());
  EXPECT_EQ(data, expected) << v.name;
}

INSTANTIATE_TEST_SUITE_P(Variants, X8Lut, ::testing::ValuesIn(x8_lut_variants()), test::VariantName());

}  // namespace
}  // namespace sparrow::kernels
