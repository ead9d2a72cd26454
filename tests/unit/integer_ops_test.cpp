// ONNX's integer ops: MatMulInteger and ConvInteger (exact int32 sums of zero-point-shifted
// 8-bit operands, as dynamically quantized models use them before Cast -> Mul -> Add back to
// float) and QLinearMatMul (the sums requantized onto an 8-bit grid). Expected values are
// worked out by hand in the comments; ONNX's own cases (test_matmulinteger,
// test_convinteger_*, test_qlinearmatmul_*) run in the conformance suite.
#include <gtest/gtest.h>

#include "sparrow/engine.h"
#include "support/onnx_builder.h"
#include "support/test_support.h"

namespace sparrow {
namespace {

using test::Attr;
using test::OnnxBuilder;

// Runs with the optimised kernels and with the reference only; both must give `expected`.
template <typename T>
void expect_output(const std::string& bytes, const std::vector<Tensor>& inputs, const std::vector<T>& expected) {
  CompileOptions reference;
  reference.optimized_kernels = false;
  for (const CompileOptions& options : {CompileOptions{}, reference}) {
    const Tensor y = Engine::load_from_bytes(bytes, options).run(inputs)[0];
    EXPECT_EQ(test::values_of<T>(y), expected) << (options.optimized_kernels ? "optimised kernels" : "reference kernels");
  }
}

// A (u8 [2,3], zero point per row) x B (s8 [3,2], zero point per column), then the dynamic
// quantization tail: Cast to float, Mul by a_scale * b_scale, Add the bias.
std::string matmul_integer_model(const Tensor& a_zero, bool float_tail) {
  OnnxBuilder b;
  b.input("a", DType::kUint8, {2, 3});
  b.initializer("a_z", a_zero);
  b.initializer("b", Tensor::from_vector<int8_t>({3, 2}, {1, -1, 0, 2, -3, 4}));
  b.initializer("b_z", Tensor::from_vector<int8_t>({2}, {0, 1}));
  b.node("MatMulInteger", {"a", "b", "a_z", "b_z"}, {"acc"}, {}, "mmi");
  if (!float_tail) {
    b.output("acc", DType::kInt32, {2, 2});  // ONNX's inference gives up on the malformed variants
    return b.bytes();
  }
  b.initializer("scale", Tensor::scalar<float>(0.5f)).initializer("bias", Tensor::from_vector<float>({2}, {1, -1}));
  b.node("Cast", {"acc"}, {"accf"}, {Attr::Int("to", 1)}).node("Mul", {"accf", "scale"}, {"scaled"});
  b.node("Add", {"scaled", "bias"}, {"y"}).output("y");
  return b.bytes();
}

const Tensor kMatMulA = Tensor::from_vector<uint8_t>({2, 3}, {1, 2, 3, 4, 5, 6});

TEST(IntegerOps, MatMulIntegerWithPerRowAndPerColumnZeroPoints) {
  // A - [1, 2] by row = 0 1 2 / 2 3 4; B - [0, 1] by column: columns 1 0 -3 and -2 1 3.
  // Row 0: 0 + 0 - 6 = -6, 0 + 1 + 6 = 7. Row 1: 2 + 0 - 12 = -10, -4 + 3 + 12 = 11.
  expect_output<int32_t>(matmul_integer_model(Tensor::from_vector<uint8_t>({2}, {1, 2}), false), {kMatMulA}, {-6, 7, -10, 11});
}

TEST(IntegerOps, MatMulIntegerThenCastMulAddGivesTheFloatResult) {
  // (-6, 7, -10, 11) * 0.5 + (1, -1).
  expect_output<float>(matmul_integer_model(Tensor::from_vector<uint8_t>({2}, {1, 2}), true), {kMatMulA}, {-2, 2.5f, -4, 4.5f});
}

TEST(IntegerOps, MatMulIntegerBroadcastsBatchesAndAVectorOperand) {
  // A [2,1,2] (s8, no zero point) x B [2,2] (u8, zero point 1): B - 1 = [[1, 0], [0, 2]], so
  // each row (x, y) becomes (x, 2y). Then a 1-D A [2] x B [2,2]: (3, -4) -> (3, -8), shape [2].
  OnnxBuilder b;
  b.input("a", DType::kInt8, {2, 1, 2}).input("v", DType::kInt8, {2});
  b.initializer("b", Tensor::from_vector<uint8_t>({2, 2}, {2, 1, 1, 3})).initializer("b_z", Tensor::scalar<uint8_t>(1));
  b.node("MatMulInteger", {"a", "b", "", "b_z"}, {"y"}).node("MatMulInteger", {"v", "b", "", "b_z"}, {"w"});
  b.output("y", DType::kInt32).output("w", DType::kInt32);
  const Engine engine = Engine::load_from_bytes(b.bytes());
  const std::vector<Tensor> out =
      engine.run({Tensor::from_vector<int8_t>({2, 1, 2}, {1, 2, 3, -4}), Tensor::from_vector<int8_t>({2}, {3, -4})});
  EXPECT_EQ(out[0].shape(), (Shape{2, 1, 2}));
  EXPECT_EQ(test::values_of<int32_t>(out[0]), (std::vector<int32_t>{1, 4, 3, -8}));
  EXPECT_EQ(out[1].shape(), (Shape{2}));
  EXPECT_EQ(test::values_of<int32_t>(out[1]), (std::vector<int32_t>{3, -8}));
}

// 255 * 127 * 1001 = 32417385 is odd and above 2^24: a float accumulator cannot hold it.
TEST(IntegerOps, MatMulIntegerSumsAreExact) {
  OnnxBuilder b;
  b.input("a", DType::kUint8, {1, 1001});
  Tensor w(DType::kInt8, {1001, 1});
  for (int64_t i = 0; i < w.size(); ++i) w.data_as<int8_t>()[i] = 127;
  b.initializer("b", w).node("MatMulInteger", {"a", "b"}, {"y"}).output("y", DType::kInt32);
  Tensor a(DType::kUint8, {1, 1001});
  for (int64_t i = 0; i < a.size(); ++i) a.data_as<uint8_t>()[i] = 255;
  expect_output<int32_t>(b.bytes(), {a}, {32417385});
}

// x (u8 [1,1,3,3] = 1..9, zero point 1) with w (u8 [2,1,2,2], zero point per channel [0, 1]).
std::string conv_integer_model(const Tensor& w_zero, bool float_tail) {
  OnnxBuilder b(10);
  b.input("x", DType::kUint8, {1, 1, 3, 3});
  b.initializer("w", Tensor::from_vector<uint8_t>({2, 1, 2, 2}, {1, 0, 0, 1, 2, 2, 1, 1}));
  b.initializer("x_z", Tensor::scalar<uint8_t>(1)).initializer("w_z", w_zero);
  b.node("ConvInteger", {"x", "w", "x_z", "w_z"}, {"acc"}, {}, "conv");
  if (!float_tail) {
    b.output("acc", DType::kInt32, {1, 2, 2, 2});  // ONNX's inference gives up on the malformed variants
    return b.bytes();
  }
  b.initializer("scale", Tensor::scalar<float>(0.25f));
  b.node("Cast", {"acc"}, {"accf"}, {Attr::Int("to", 1)}).node("Mul", {"accf", "scale"}, {"y"}).output("y");
  return b.bytes();
}

const Tensor kConvX = Tensor::from_vector<uint8_t>({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});

TEST(IntegerOps, ConvIntegerWithPerChannelWeightZeroPoints) {
  // x - 1 = 0..8 in rows of three. Channel 0's kernel [[1, 0], [0, 1]] sums a pixel and its
  // lower-right neighbour: 4 6 10 12. Channel 1's, [[2, 2], [1, 1]] - 1 = [[1, 1], [0, 0]],
  // a pixel and its right neighbour: 1 3 7 9.
  expect_output<int32_t>(conv_integer_model(Tensor::from_vector<uint8_t>({2}, {0, 1}), false), {kConvX},
                         {4, 6, 10, 12, 1, 3, 7, 9});
}

TEST(IntegerOps, ConvIntegerThenCastMulGivesTheFloatResult) {
  expect_output<float>(conv_integer_model(Tensor::from_vector<uint8_t>({2}, {0, 1}), true), {kConvX},
                       {1, 1.5f, 2.5f, 3, 0.25f, 0.75f, 1.75f, 2.25f});
}

// ONNX Runtime's dynamic quantization of a float input: DynamicQuantizeLinear, ConvInteger on its
// u8 output and zero point, then Cast -> Mul by x_scale * w_scale -> Add the bias.
TEST(IntegerOps, DynamicQuantizeLinearThenConvIntegerGivesTheFloatResult) {
  OnnxBuilder b(11);
  b.input("x", DType::kFloat32, {1, 1, 2, 2});
  b.initializer("w", Tensor::from_vector<int8_t>({1, 1, 1, 1}, {2}));
  b.initializer("w_scale", Tensor::scalar<float>(0.5f)).initializer("bias", Tensor::from_vector<float>({1, 1, 1, 1}, {1}));
  b.node("DynamicQuantizeLinear", {"x"}, {"xq", "x_scale", "x_zero"});
  b.node("ConvInteger", {"xq", "w", "x_zero"}, {"acc"});
  b.node("Cast", {"acc"}, {"accf"}, {Attr::Int("to", 1)}).node("Mul", {"x_scale", "w_scale"}, {"scale"});
  b.node("Mul", {"accf", "scale"}, {"scaled"}).node("Add", {"scaled", "bias"}, {"y"}).output("y");
  b.output("xq", DType::kUint8).output("x_scale", DType::kFloat32).output("x_zero", DType::kUint8);
  // x in [-1, 1.55]: scale 2.55 / 255 = 0.01, zero point round(1 / 0.01) = 100; x = -1, 0, 0.5,
  // 1.55 quantize to 0, 100, 150, 255. Then y = (q - 100) * 2 * 0.01 * 0.5 + 1.
  const Tensor x = Tensor::from_vector<float>({1, 1, 2, 2}, {-1.0f, 0.0f, 0.5f, 1.55f});
  CompileOptions reference;
  reference.optimized_kernels = false;
  for (const CompileOptions& options : {CompileOptions{}, reference}) {
    const std::vector<Tensor> out = Engine::load_from_bytes(b.bytes(), options).run({x});
    EXPECT_EQ(test::values_of<uint8_t>(out[1]), (std::vector<uint8_t>{0, 100, 150, 255}));
    EXPECT_FLOAT_EQ(test::values_of<float>(out[2])[0], 0.01f);
    EXPECT_EQ(test::values_of<uint8_t>(out[3])[0], 100);
    const std::vector<float> y = test::values_of<float>(out[0]);
    const std::vector<float> expected = {0.0f, 1.0f, 1.5f, 2.55f};
    for (size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], expected[i], 1e-5f) << i;
  }
}

// a (u8 [2,2], scale 1/2, zero 128) x b (s8 [2,3], scale and zero point per column) onto y
// (s8, scale 1/2, zero -50).
std::string qlinear_matmul_model(const Tensor& b_scale, const Tensor& b_zero, const Tensor& a_zero) {
  OnnxBuilder b(10);
  b.input("a", DType::kUint8, {2, 2});
  b.initializer("a_s", Tensor::scalar<float>(0.5f)).initializer("a_z", a_zero);
  b.initializer("b", Tensor::from_vector<int8_t>({2, 3}, {1, 2, 3, 4, 5, -6}));
  b.initializer("b_s", b_scale).initializer("b_z", b_zero);
  b.initializer("y_s", Tensor::scalar<float>(0.5f)).initializer("y_z", Tensor::scalar<int8_t>(-50));
  b.node("QLinearMatMul", {"a", "a_s", "a_z", "b", "b_s", "b_z", "y_s", "y_z"}, {"y"}, {}, "qmm");
  b.output("y", DType::kInt8, {2, 3});  // ONNX's inference gives up on the malformed variants
  return b.bytes();
}

const Tensor kBScale = Tensor::from_vector<float>({3}, {0.25f, 0.5f, 1.0f});
const Tensor kBZero = Tensor::from_vector<int8_t>({3}, {0, 0, 1});

TEST(IntegerOps, QLinearMatMulWithPerColumnScalesRoundsHalfToEvenAndSaturates) {
  // a - 128 = [[2, -2], [0, 12]]; b - zero by column = (1, 4), (2, 5), (2, -7). Sums: -6, -6,
  // 18 / 48, 60, -84; times 1/2 * b_scale: -0.75, -1.5, 9 / 6, 15, -42; over 1/2: -1.5, -3,
  // 18 / 12, 30, -84 -> -2 (half to even), -3, 18 / 12, 30, -84; minus 50, saturated to s8.
  const Tensor a = Tensor::from_vector<uint8_t>({2, 2}, {130, 126, 128, 140});
  expect_output<int8_t>(qlinear_matmul_model(kBScale, kBZero, Tensor::scalar<uint8_t>(128)), {a},
                        {-52, -53, -32, -38, -20, -128});
}

// ---- What is refused

TEST(IntegerOps, MalformedZeroPointsAndScalesAreRefusedByName) {
  const Tensor two_scales = Tensor::from_vector<float>({2}, {0.25f, 0.5f});
  const Tensor two_zeros = Tensor::from_vector<int8_t>({2}, {0, 0});
  test::expect_error([&] { Engine::load_from_bytes(qlinear_matmul_model(two_scales, two_zeros, Tensor::scalar<uint8_t>(128))); },
                     ErrorCode::kInvalidModel, {"'qmm'", "b_scale has shape 2;", "or 3 entries (one per column of b)"});
  test::expect_error([&] { Engine::load_from_bytes(qlinear_matmul_model(kBScale, two_zeros, Tensor::scalar<uint8_t>(128))); },
                     ErrorCode::kInvalidModel, {"'qmm'", "b_zero_point has 2 entries but b_scale has 3 entries"});
  test::expect_error([&] { Engine::load_from_bytes(qlinear_matmul_model(kBScale, kBZero, Tensor::scalar<int8_t>(0))); },
                     ErrorCode::kInvalidModel, {"'qmm'", "a_zero_point is int8 but a is uint8"});
  const Tensor negative = Tensor::from_vector<float>({3}, {0.25f, -0.5f, 1.0f});
  test::expect_error([&] { Engine::load_from_bytes(qlinear_matmul_model(negative, kBZero, Tensor::scalar<uint8_t>(128))); },
                     ErrorCode::kInvalidModel, {"'qmm'", "b_scale[1] is -0.5", "a scale must be positive and finite"});
  test::expect_error([] { Engine::load_from_bytes(matmul_integer_model(Tensor::from_vector<uint8_t>({3}, {1, 2, 3}), false)); },
                     ErrorCode::kInvalidModel, {"'mmi'", "a_zero_point has shape 3;", "one per row of A (2)"});
  test::expect_error([] { Engine::load_from_bytes(conv_integer_model(Tensor::from_vector<int8_t>({2}, {0, 1}), false)); },
                     ErrorCode::kInvalidModel, {"'conv'", "w_zero_point is int8 but its tensor is uint8"});
  test::expect_error([] { Engine::load_from_bytes(conv_integer_model(Tensor::from_vector<uint8_t>({3}, {0, 1, 2}), false)); },
                     ErrorCode::kInvalidModel, {"'conv'", "w_zero_point has shape 3;", "one per output channel (2)"});
}

}  // namespace
}  // namespace sparrow
