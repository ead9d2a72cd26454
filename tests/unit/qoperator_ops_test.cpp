// onnxruntime's QOperator form: com.microsoft QLinearAdd, QLinearMul, QLinearSigmoid,
// QLinearLeakyRelu and QLinearConcat, as its quantizer writes them, import and compute what
// dequantize -> float op -> quantize (round half to even, saturate) gives. Expected values are
// worked out by hand in the comments, on scales that are powers of two so that the float steps
// are exact and ties really are ties. Other ops of that domain, other domains, and malformed
// quantization parameters are refused by name.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "sparrow/engine.h"
#include "support/onnx_builder.h"
#include "support/test_support.h"

namespace sparrow {
namespace {

using test::Attr;
using test::OnnxBuilder;

constexpr const char* kMs = "com.microsoft";

template <typename T>
std::vector<T> values_of(const Tensor& t) {
  return std::vector<T>(t.data_as<T>(), t.data_as<T>() + t.size());
}

Tensor run_one(const std::string& bytes, const Tensor& x, const std::string& kernels = "") {
  CompileOptions options;
  options.kernels = kernels;
  return Engine::load_from_bytes(bytes, options).run({x})[0];
}

// A (u8 [2,3], scale 1/2, zero 10) * B (u8 [3], broadcast along rows, scale 1/4, zero 4) onto
// C (scale 1/4, zero 3).
std::string qlinear_mul_model() {
  OnnxBuilder b;
  b.input("a", DType::kUint8, {2, 3});
  b.initializer("a_s", Tensor::scalar<float>(0.5f)).initializer("a_z", Tensor::scalar<uint8_t>(10));
  b.initializer("b", Tensor::from_vector<uint8_t>({3}, {5, 0, 5}));
  b.initializer("b_s", Tensor::scalar<float>(0.25f)).initializer("b_z", Tensor::scalar<uint8_t>(4));
  b.initializer("c_s", Tensor::scalar<float>(0.25f)).initializer("c_z", Tensor::scalar<uint8_t>(3));
  b.domain_node(kMs, "QLinearMul", {"a", "a_s", "a_z", "b", "b_s", "b_z", "c_s", "c_z"}, {"c"});
  b.output("c", DType::kUint8, {2, 3});
  return b.bytes();
}

TEST(QOperatorOps, QLinearMulBroadcastsRoundsHalfToEvenAndSaturates) {
  // A = 0, 0.5, 1.5 / 2, 122.5, -0.5 and B = 0.25, -1, 0.25: products 0, -0.5, 0.375 / 0.5,
  // -122.5, -0.125; over 1/4: 0, -2, 1.5 / 2, -490, -0.5; rounded half to even 0, -2, 2 / 2,
  // -490, -0; plus 3, saturated to u8.
  const Tensor a = Tensor::from_vector<uint8_t>({2, 3}, {10, 11, 13, 14, 255, 9});
  const Tensor c = run_one(qlinear_mul_model(), a);
  EXPECT_EQ(c.shape(), (Shape{2, 3}));
  EXPECT_EQ(values_of<uint8_t>(c), (std::vector<uint8_t>{3, 1, 5, 5, 0, 3}));
}

// int8 operands with the optional zero points of A and B omitted; B [2,1] broadcasts along columns.
std::string qlinear_add_s8_model() {
  OnnxBuilder b;
  b.input("a", DType::kInt8, {2, 2});
  b.initializer("a_s", Tensor::scalar<float>(0.5f));
  b.initializer("b", Tensor::from_vector<int8_t>({2, 1}, {2, -3})).initializer("b_s", Tensor::scalar<float>(0.25f));
  b.initializer("c_s", Tensor::scalar<float>(1.0f)).initializer("c_z", Tensor::scalar<int8_t>(1));
  b.domain_node(kMs, "QLinearAdd", {"a", "a_s", "", "b", "b_s", "", "c_s", "c_z"}, {"c"});
  b.output("c", DType::kInt8, {2, 2});
  return b.bytes();
}

TEST(QOperatorOps, QLinearAddOfInt8WithOmittedZeroPointsBroadcasts) {
  // A = -2, 3 / 50, -64 and B = 0.5 / -0.75: sums -1.5, 3.5 / 49.25, -64.75, rounded half to
  // even -2, 4 / 49, -65, plus 1.
  const Tensor a = Tensor::from_vector<int8_t>({2, 2}, {-4, 6, 100, -128});
  EXPECT_EQ(values_of<int8_t>(run_one(qlinear_add_s8_model(), a)), (std::vector<int8_t>{-1, 5, 50, -64}));
}

// The residual-add form (u8, one shape, every parameter given) runs on Sparrow's u8 kernels and
// agrees with the reference exactly here, where the float steps are exact.
TEST(QOperatorOps, QLinearAddOfOneShapeRunsOnTheQu8Kernel) {
  OnnxBuilder b;
  b.input("a", DType::kUint8, {1, 4, 5, 5}).input("b", DType::kUint8, {1, 4, 5, 5});
  b.initializer("a_s", Tensor::scalar<float>(0.125f)).initializer("a_z", Tensor::scalar<uint8_t>(120));
  b.initializer("b_s", Tensor::scalar<float>(0.25f)).initializer("b_z", Tensor::scalar<uint8_t>(7));
  b.initializer("c_s", Tensor::scalar<float>(0.5f)).initializer("c_z", Tensor::scalar<uint8_t>(60));
  b.domain_node(kMs, "QLinearAdd", {"a", "a_s", "a_z", "b", "b_s", "b_z", "c_s", "c_z"}, {"c"});
  b.output("c", DType::kUint8, {1, 4, 5, 5});
  Tensor a(DType::kUint8, {1, 4, 5, 5}), bt(DType::kUint8, {1, 4, 5, 5});
  for (int64_t i = 0; i < a.size(); ++i) {
    a.data_as<uint8_t>()[i] = static_cast<uint8_t>(i * 7 % 256);
    bt.data_as<uint8_t>()[i] = static_cast<uint8_t>(255 - i * 3 % 256);
  }
  const Engine fast = Engine::load_from_bytes(b.bytes());
  std::string kernel;
  for (const LayerInfo& l : fast.describe().layers) {
    if (l.op == "QLinearAdd") kernel = l.kernel;
  }
  EXPECT_EQ(kernel.rfind("qu8-add-", 0), 0u) << kernel;
  CompileOptions slow;
  slow.optimized_kernels = false;
  const Tensor expected = Engine::load_from_bytes(b.bytes(), slow).run({a, bt})[0];
  EXPECT_EQ(values_of<uint8_t>(fast.run({a, bt})[0]), values_of<uint8_t>(expected));
}

// x_zero null: the optional input is omitted.
std::string qlinear_unary_model(const char* op, DType type, const Tensor* x_zero, const Tensor& y_zero, float x_scale,
                                float y_scale, std::vector<Attr> attrs = {}) {
  OnnxBuilder b;
  b.input("x", type, {4});
  b.initializer("x_s", Tensor::scalar<float>(x_scale)).initializer("y_s", Tensor::scalar<float>(y_scale));
  std::vector<std::string> inputs = {"x", "x_s", "", "y_s", "y_z"};
  if (x_zero) {
    b.initializer("x_z", *x_zero);
    inputs[2] = "x_z";
  }
  b.initializer("y_z", y_zero);
  b.domain_node(kMs, op, inputs, {"y"}, std::move(attrs), "act");
  b.output("y", type, {4});
  return b.bytes();
}

TEST(QOperatorOps, QLinearSigmoid) {
  // x = (q - 128) / 16 = -8, 0, 7.9375, -1.75; sigmoid = 0.000335, 0.5, 0.999643, 0.148047;
  // times 256 (y_scale 1/256): 0.086, 128, 255.91, 37.90 -> 0, 128, 256 saturated to 255, 38.
  const Tensor x_zero = Tensor::scalar<uint8_t>(128);
  const std::string model = qlinear_unary_model("QLinearSigmoid", DType::kUint8, &x_zero, Tensor::scalar<uint8_t>(0), 0.0625f, 1.0f / 256);
  const Tensor y = run_one(model, Tensor::from_vector<uint8_t>({4}, {0, 128, 255, 100}));
  EXPECT_EQ(values_of<uint8_t>(y), (std::vector<uint8_t>{0, 128, 255, 38}));
}

TEST(QOperatorOps, QLinearLeakyReluOfInt8WithoutInputZeroPoint) {
  // x = q / 2 = -50, -0.5, 0, 25; alpha 0.1: -5, -0.05, 0, 25; times 4 (y_scale 1/4): -20,
  // -0.2, 0, 100 -> rounded -20, 0, 0, 100, plus 10.
  const std::string model = qlinear_unary_model("QLinearLeakyRelu", DType::kInt8, nullptr, Tensor::scalar<int8_t>(10), 0.5f,
                                                0.25f, {Attr::Float("alpha", 0.1f)});
  const Tensor y = run_one(model, Tensor::from_vector<int8_t>({4}, {-100, -1, 0, 50}));
  EXPECT_EQ(values_of<int8_t>(y), (std::vector<int8_t>{-10, 10, 10, 110}));
}

// Y (scale 1/2, zero 100) = Concat(P0 [2,1] on Y's own grid, P1 [2,2] at scale 1/4, zero 8) on axis 1.
std::string qlinear_concat_model(int64_t axis = 1) {
  OnnxBuilder b;
  b.input("p0", DType::kUint8, {2, 1});
  b.initializer("y_s", Tensor::scalar<float>(0.5f)).initializer("y_z", Tensor::scalar<uint8_t>(100));
  b.initializer("p0_s", Tensor::scalar<float>(0.5f)).initializer("p0_z", Tensor::scalar<uint8_t>(100));
  b.initializer("p1", Tensor::from_vector<uint8_t>({2, 2}, {0, 10, 255, 12}));
  b.initializer("p1_s", Tensor::scalar<float>(0.25f)).initializer("p1_z", Tensor::scalar<uint8_t>(8));
  b.domain_node(kMs, "QLinearConcat", {"y_s", "y_z", "p0", "p0_s", "p0_z", "p1", "p1_s", "p1_z"}, {"y"},
                {Attr::Int("axis", axis)}, "concat");
  b.output("y", DType::kUint8, {2, 3});
  return b.bytes();
}

TEST(QOperatorOps, QLinearConcatRequantizesEachPartOntoTheOutputGrid) {
  // P0 is on Y's grid and is copied. P1 = (q - 8) / 4 = -2, 0.5 / 61.75, 1; times 2: -4, 1 /
  // 123.5, 2 -> -4, 1 / 124 (half to even), 2; plus 100. Rows interleave the parts.
  const Tensor y = run_one(qlinear_concat_model(), Tensor::from_vector<uint8_t>({2, 1}, {100, 102}));
  EXPECT_EQ(y.shape(), (Shape{2, 3}));
  EXPECT_EQ(values_of<uint8_t>(y), (std::vector<uint8_t>{100, 96, 101, 102, 224, 102}));
}

// ---- What is refused

std::string contrib_node_model(const std::string& domain, const std::string& op) {
  OnnxBuilder b;
  b.input("x", DType::kFloat32, {1, 4});
  b.domain_node(domain, op, {"x"}, {"y"}, {}, "n");
  b.output("y", DType::kFloat32, {1, 4});
  return b.bytes();
}

TEST(QOperatorOps, OtherOpsOfTheDomainAndOtherDomainsAreRefusedByName) {
  test::expect_error([] { Engine::load_from_bytes(contrib_node_model(kMs, "FusedGemm")); }, ErrorCode::kUnsupported,
                     {"'n'", "operator FusedGemm of domain 'com.microsoft' is not supported", "QLinearConcat"});
  test::expect_error([] { Engine::load_from_bytes(contrib_node_model("org.example", "QLinearAdd")); },
                     ErrorCode::kUnsupported, {"'n'", "operator QLinearAdd of domain 'org.example' is not supported"});
}

// ONNX has no QLinearSigmoid: in the default domain it is an unknown op, not onnxruntime's.
TEST(QOperatorOps, ContribOpsAreNotTakenFromTheDefaultDomain) {
  OnnxBuilder b;
  b.input("x", DType::kUint8, {4});
  b.initializer("s", Tensor::scalar<float>(1.0f)).initializer("z", Tensor::scalar<uint8_t>(0));
  b.node("QLinearSigmoid", {"x", "s", "z", "s", "z"}, {"y"}, {}, "n").output("y", DType::kUint8, {4});
  try {
    Engine::load_from_bytes(b.bytes());
    ADD_FAILURE() << "a default-domain QLinearSigmoid was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("QLinearSigmoid"), std::string::npos) << e.what();
  }
}

std::string sigmoid_with(float x_scale, const Tensor& x_zero) {
  return qlinear_unary_model("QLinearSigmoid", DType::kUint8, &x_zero, Tensor::scalar<uint8_t>(0), x_scale, 1.0f / 256);
}

TEST(QOperatorOps, ScalesThatAreZeroNegativeOrNotFiniteAreRefused) {
  for (float bad : {0.0f, -0.5f, std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    test::expect_error([&] { Engine::load_from_bytes(sigmoid_with(bad, Tensor::scalar<uint8_t>(0))); }, ErrorCode::kInvalidModel,
                       {"'act'", "X_scale is ", "a scale must be positive and finite"});
  }
}

TEST(QOperatorOps, ZeroPointsOfTheWrongTypeOrLengthAreRefused) {
  test::expect_error([] { Engine::load_from_bytes(sigmoid_with(0.5f, Tensor::scalar<int8_t>(0))); }, ErrorCode::kInvalidModel,
                     {"'act'", "X_zero_point is int8 but X is uint8"});
  test::expect_error([] { Engine::load_from_bytes(sigmoid_with(0.5f, Tensor::from_vector<uint8_t>({2}, {0, 0}))); },
                     ErrorCode::kInvalidModel, {"'act'", "X_zero_point has 2 entries but X_scale has 1 entry"});
}

TEST(QOperatorOps, QLinearConcatAxisOutOfRangeIsRefused) {
  test::expect_error([] { Engine::load_from_bytes(qlinear_concat_model(2)); }, ErrorCode::kInvalidModel,
                     {"'concat'", "axis 2 is out of range for rank 2"});
}

}  // namespace
}  // namespace sparrow
