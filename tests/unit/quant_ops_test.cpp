// QuantizeLinear and DequantizeLinear: a QDQ model runs with the quantization's exact effect
// (fake-quantised activations, weights folded from int8), and malformed parameters are refused
// by name. ONNX's own cases (test_quantizelinear*, test_dequantizelinear*) run in the
// conformance suite.
#include <gtest/gtest.h>

#include <cmath>

#include "sparrow/engine.h"
#include "support/onnx_builder.h"
#include "support/test_support.h"

namespace sparrow {
namespace {

using test::Attr;
using test::OnnxBuilder;

// x -> Q(u8, per tensor) -> DQ -> Conv(weights DQ(s8, per channel)) -> y
std::string qdq_conv_model(const Tensor& w_q, const Tensor& w_scale) {
  OnnxBuilder b;
  b.input("x", DType::kFloat32, {1, 2, 3, 3});
  b.initializer("x_scale", Tensor::scalar<float>(0.05f));
  b.initializer("x_zp", Tensor::scalar<uint8_t>(uint8_t{128}));
  b.initializer("w_q", w_q).initializer("w_scale", w_scale);
  b.initializer("w_zp", Tensor::from_vector<int8_t>({2}, {0, 0}));
  b.node("QuantizeLinear", {"x", "x_scale", "x_zp"}, {"xq"});
  b.node("DequantizeLinear", {"xq", "x_scale", "x_zp"}, {"xd"});
  b.node("DequantizeLinear", {"w_q", "w_scale", "w_zp"}, {"w"}, {Attr::Int("axis", 0)});
  b.node("Conv", {"xd", "w"}, {"y"});
  b.output("y");
  return b.bytes();
}

TEST(QuantOps, QdqConvComputesWithTheQuantizedValues) {
  const Tensor w_q = Tensor::from_vector<int8_t>({2, 2, 1, 1}, {10, -20, 127, -128});
  const Tensor w_scale = Tensor::from_vector<float>({2}, {0.01f, 0.002f});
  const Engine engine = Engine::load_from_bytes(qdq_conv_model(w_q, w_scale));
  // Values on, between and beyond the u8 grid of scale 0.05 around zero point 128.
  std::vector<float> xs(18);
  for (size_t i = 0; i < xs.size(); ++i) xs[i] = -7.5f + 0.9137f * static_cast<float>(i);
  const Tensor x = Tensor::from_vector<float>({1, 2, 3, 3}, xs);
  const Tensor y = engine.run({x})[0];
  auto fake_quant = [](float v) {
    const float q = std::fmin(std::fmax(std::nearbyint(v / 0.05f) + 128.0f, 0.0f), 255.0f);
    return (q - 128.0f) * 0.05f;
  };
  const float w[2][2] = {{10 * 0.01f, -20 * 0.01f}, {127 * 0.002f, -128 * 0.002f}};
  for (int o = 0; o < 2; ++o) {
    for (int p = 0; p < 9; ++p) {
      const float expected = w[o][0] * fake_quant(xs[p]) + w[o][1] * fake_quant(xs[9 + p]);
      EXPECT_NEAR(y.data_as<float>()[o * 9 + p], expected, 1e-5) << "channel " << o << " pixel " << p;
    }
  }
}

// Rounding is half to even, and results saturate at the type's ends.
TEST(QuantOps, QuantizeRoundsHalfToEvenAndSaturates) {
  OnnxBuilder b;
  b.input("x", DType::kFloat32, {6});
  b.initializer("s", Tensor::scalar<float>(1.0f)).initializer("z", Tensor::scalar<int8_t>(int8_t{0}));
  b.node("QuantizeLinear", {"x", "s", "z"}, {"y"}).output("y", DType::kInt8);
  const Tensor y = Engine::load_from_bytes(b.bytes()).run({Tensor::from_vector<float>({6}, {0.5f, 1.5f, 2.5f, -0.5f, 300.0f, -300.0f})})[0];
  const std::vector<int8_t> expected = {0, 2, 2, 0, 127, -128};
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(y.data_as<int8_t>()[i], expected[i]) << i;
}

std::string dequantize_model(const Tensor& scale, const Tensor* zp, int opset = 13, int64_t axis = 1) {
  OnnxBuilder b(opset);
  b.input("q", DType::kUint8, {1, 3, 2, 2});
  b.initializer("s", scale);
  std::vector<std::string> inputs = {"q", "s"};
  if (zp) {
    b.initializer("z", *zp);
    inputs.push_back("z");
  }
  std::vector<Attr> attrs;
  if (opset >= 13) attrs.push_back(Attr::Int("axis", axis));
  b.node("DequantizeLinear", inputs, {"y"}, attrs, "dq").output("y");
  return b.bytes();
}

TEST(QuantOps, MalformedParametersAreRefusedByName) {
  const Tensor three = Tensor::from_vector<float>({3}, {1, 2, 3});
  const Tensor two_by_two = Tensor::from_vector<float>({2, 2}, {1, 2, 3, 4});
  const Tensor zp_two = Tensor::from_vector<uint8_t>({2}, {0, 0});
  const Tensor zp_s8 = Tensor::from_vector<int8_t>({3}, {0, 0, 0});
  test::expect_error([&] { Engine::load_from_bytes(dequantize_model(two_by_two, nullptr)); }, ErrorCode::kInvalidModel,
                     {"'dq'", "scalar or 1-D"});
  test::expect_error([&] { Engine::load_from_bytes(dequantize_model(three, &zp_two)); }, ErrorCode::kInvalidModel,
                     {"'dq'", "zero point's shape"});
  test::expect_error([&] { Engine::load_from_bytes(dequantize_model(three, &zp_s8)); }, ErrorCode::kInvalidModel,
                     {"'dq'", "zero point is int8 but the data is uint8"});
  test::expect_error([&] { Engine::load_from_bytes(dequantize_model(three, nullptr, 13, 2)); }, ErrorCode::kInvalidModel,
                     {"'dq'", "3 entries for the 2 channels of axis 2"});
  test::expect_error([&] { Engine::load_from_bytes(dequantize_model(three, nullptr, 10)); }, ErrorCode::kInvalidModel,
                     {"'dq'", "opset 13"});
  test::expect_error([&] { Engine::load_from_bytes(dequantize_model(three, nullptr, 13, 4)); }, ErrorCode::kInvalidModel,
                     {"'dq'", "axis 4 is out of range for rank 4"});
}

}  // namespace
}  // namespace sparrow
