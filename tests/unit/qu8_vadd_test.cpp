// qu8-vadd variants bit-exact to the reference, on every variant this process may run, and
// QDQ residual adds fused into QLinearAdd within one step of the float path. ctest runs this
// again under SPARROW_ISA=avx2 and =scalar, where the richer variants are skipped.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "kernels/qu8_vadd.h"
#include "sparrow/engine.h"
#include "support/onnx_builder.h"
#include "support/test_support.h"

namespace sparrow {
namespace {

using kernels::Qu8AddParams;
using kernels::Qu8VaddVariant;

class Qu8Vadd : public ::testing::TestWithParam<Qu8VaddVariant> {};

TEST_P(Qu8Vadd, BitExactToTheReference) {
  const Qu8VaddVariant& v = GetParam();
  if (!kernels::isa_available(v.isa)) GTEST_SKIP() << v.name << ": this process has no " << kernels::isa_name(v.isa);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> scale(0.001f, 0.2f);
  // Ordinary grids, one whose multipliers overflow int32 (saturation), and exact halves (ties).
  std::vector<Qu8AddParams> params;
  for (int i = 0; i < 6; ++i) {
    params.push_back(kernels::qu8_add_params(scale(rng), static_cast<int32_t>(rng() % 256), scale(rng),
                                             static_cast<int32_t>(rng() % 256), scale(rng), static_cast<int32_t>(rng() % 256)));
  }
  params.push_back({3e7f, -3e7f, 0.0f});
  params.push_back({0.5f, 0.5f, 0.0f});
  for (const Qu8AddParams& p : params) {
    for (size_t n : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{15}, size_t{16}, size_t{17}, size_t{100}, size_t{4099}}) {
      std::vector<uint8_t> a(n), b(n), expected(n), got(n + 32, 0xA5);
      for (size_t i = 0; i < n; ++i) a[i] = static_cast<uint8_t>(rng()), b[i] = static_cast<uint8_t>(rng());
      kernels::qu8_vadd_reference(n, a.data(), b.data(), expected.data(), p);
      v.ukernel(n, a.data(), b.data(), got.data(), p);
      for (size_t i = 0; i < n; ++i) ASSERT_EQ(got[i], expected[i]) << v.name << " n=" << n << " at " << i;
      for (size_t i = n; i < got.size(); ++i) ASSERT_EQ(got[i], 0xA5) << v.name << " wrote past n=" << n;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Variants, Qu8Vadd, ::testing::ValuesIn(kernels::qu8_vadd_variants()), test::VariantName());

// a, b (u8 on their grids) -> DequantizeLinear -> Add -> QuantizeLinear; with `unfused` the float
// sum is also an output, which keeps the passes from fusing it.
std::string residual_add(bool unfused) {
  test::OnnxBuilder b;
  b.input("a", DType::kUint8, {1, 8, 20, 20}).input("b", DType::kUint8, {1, 8, 20, 20});
  b.initializer("as", Tensor::scalar<float>(0.031f)).initializer("az", Tensor::scalar<uint8_t>(uint8_t{11}));
  b.initializer("bs", Tensor::scalar<float>(0.017f)).initializer("bz", Tensor::scalar<uint8_t>(uint8_t{200}));
  b.initializer("ys", Tensor::scalar<float>(0.043f)).initializer("yz", Tensor::scalar<uint8_t>(uint8_t{90}));
  b.node("DequantizeLinear", {"a", "as", "az"}, {"af"}).node("DequantizeLinear", {"b", "bs", "bz"}, {"bf"});
  b.node("Add", {"af", "bf"}, {"s"}).node("QuantizeLinear", {"s", "ys", "yz"}, {"y"}).output("y", DType::kUint8);
  if (unfused) b.output("s");
  return b.bytes();
}

TEST(QLinearAdd, ResidualAddRunsOnU8WithinOneStepOfTheFloatPath) {
  const Engine fused = Engine::load_from_bytes(residual_add(false)), plain = Engine::load_from_bytes(residual_add(true));
  std::string kernel;
  for (const LayerInfo& l : fused.describe().layers) {
    if (l.op == "QLinearAdd") kernel = l.kernel;
  }
  EXPECT_EQ(kernel.rfind("qu8-add-", 0), 0u) << "kernel: '" << kernel << "'";
  Tensor a(DType::kUint8, {1, 8, 20, 20}), b(DType::kUint8, {1, 8, 20, 20});
  for (int64_t i = 0; i < a.size(); ++i) {
    a.data_as<uint8_t>()[i] = static_cast<uint8_t>(i * 7);
    b.data_as<uint8_t>()[i] = static_cast<uint8_t>(i * 13 + 5);
  }
  const Tensor ya = fused.run({a, b})[0], yb = plain.run({a, b})[0];
  int saturated = 0;
  for (int64_t i = 0; i < ya.size(); ++i) {
    ASSERT_LE(std::abs(ya.data_as<uint8_t>()[i] - yb.data_as<uint8_t>()[i]), 1) << i;
    saturated += yb.data_as<uint8_t>()[i] == 0 || yb.data_as<uint8_t>()[i] == 255;
  }
  EXPECT_LT(saturated, ya.size() / 2);
}

}  // namespace
}  // namespace sparrow
