// LeakyRelu, HardSigmoid, HardSwish, Tanh and Clip, the activations of YOLOv5 variants other
// than SiLU: hand-computed values on both the oneDNN rows and the reference, and Clip's forms
// (bounds as inputs or, before opset 11, as attributes; integer data; min above max).
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

std::string kernel_of(const Engine& engine, const std::string& op) {
  for (const LayerInfo& l : engine.describe().layers) {
    if (l.op == op) return l.kernel;
  }
  return "";
}

// `op` on x with the optimised kernels, which must run it on `row`, and with the reference only.
void expect_activation(const std::string& op, std::vector<Attr> attrs, const std::vector<float>& x,
                       const std::vector<float>& expected, const std::string& row) {
  SCOPED_TRACE(op);
  const Shape shape = {1, static_cast<int64_t>(x.size())};
  OnnxBuilder b(14);  // HardSwish's first opset
  b.input("x", DType::kFloat32, shape).node(op, {"x"}, {"y"}, std::move(attrs)).output("y");
  CompileOptions reference;
  reference.optimized_kernels = false;
  const Engine fast = Engine::load_from_bytes(b.bytes());
  EXPECT_EQ(kernel_of(fast, op).rfind(row, 0), 0u) << kernel_of(fast, op);
  const Tensor input = Tensor::from_vector<float>(shape, x);
  const Tensor expected_tensor = Tensor::from_vector<float>(shape, expected);
  EXPECT_TRUE(test::all_close(fast.run({input})[0], expected_tensor, 1e-5, 1e-6)) << "oneDNN";
  EXPECT_TRUE(test::all_close(Engine::load_from_bytes(b.bytes(), reference).run({input})[0], expected_tensor, 1e-6, 1e-7))
      << "reference";
}

TEST(ActivationOps, LeakyRelu) {
  expect_activation("LeakyRelu", {Attr::Float("alpha", 0.5f)}, {-2, -0.5f, 0, 3}, {-1, -0.25f, 0, 3}, "f32-leakyrelu-onednn");
  expect_activation("LeakyRelu", {}, {-2, 3}, {-0.02f, 3}, "f32-leakyrelu-onednn");  // alpha 0.01
}

TEST(ActivationOps, HardSigmoid) {
  // clamp(0.5 x + 0.25, 0, 1); by default clamp(0.2 x + 0.5, 0, 1).
  expect_activation("HardSigmoid", {Attr::Float("alpha", 0.5f), Attr::Float("beta", 0.25f)}, {-1, 0, 1, 2},
                    {0, 0.25f, 0.75f, 1}, "f32-hardsigmoid-onednn");
  expect_activation("HardSigmoid", {}, {-3, 1, 3}, {0, 0.7f, 1}, "f32-hardsigmoid-onednn");
}

TEST(ActivationOps, HardSwish) {
  // x * clamp(x / 6 + 1/2, 0, 1): zero up to -3, x itself from 3.
  expect_activation("HardSwish", {}, {-4, -3, -1.5f, 0, 1.5f, 3, 4}, {0, 0, -0.375f, 0, 1.125f, 3, 4}, "f32-hardswish-onednn");
}

TEST(ActivationOps, Tanh) {
  expect_activation("Tanh", {}, {0, 0.5f, -2}, {0, 0.46211716f, -0.96402758f}, "f32-tanh-onednn");
}

// Clip from opset 11 on: min and max are optional inputs ("" omits one).
Tensor clip13(const Tensor& x, const Tensor* lo, const Tensor* hi, std::string* kernel = nullptr) {
  OnnxBuilder b;
  b.input("x", x.dtype(), x.shape());
  if (lo) b.initializer("lo", *lo);
  if (hi) b.initializer("hi", *hi);
  b.node("Clip", {"x", lo ? "lo" : "", hi ? "hi" : ""}, {"y"}).output("y", x.dtype());
  const Engine engine = Engine::load_from_bytes(b.bytes());
  if (kernel) *kernel = kernel_of(engine, "Clip");
  return engine.run({x})[0];
}

TEST(ActivationOps, ClipWithBoundsAsInputs) {
  const Tensor x = Tensor::from_vector<float>({5}, {-1, 0, 3, 6, 7});
  const Tensor zero = Tensor::scalar<float>(0.0f), six = Tensor::scalar<float>(6.0f);
  std::string kernel;
  EXPECT_EQ(test::values_of<float>(clip13(x, &zero, &six, &kernel)), (std::vector<float>{0, 0, 3, 6, 6}));  // ReLU6
  EXPECT_EQ(kernel.rfind("f32-clip-onednn", 0), 0u) << kernel;
  EXPECT_EQ(test::values_of<float>(clip13(x, nullptr, &six)), (std::vector<float>{-1, 0, 3, 6, 6}));
  EXPECT_EQ(test::values_of<float>(clip13(x, &zero, nullptr)), (std::vector<float>{0, 0, 3, 6, 7}));
}

TEST(ActivationOps, ClipOfInt8) {
  const Tensor x = Tensor::from_vector<int8_t>({4}, {-128, -5, 5, 127});
  const Tensor lo = Tensor::scalar<int8_t>(-4), hi = Tensor::scalar<int8_t>(100);
  EXPECT_EQ(test::values_of<int8_t>(clip13(x, &lo, &hi)), (std::vector<int8_t>{-4, -4, 5, 100}));
}

// numpy.clip's order of operations: min above max gives max everywhere (oneDNN would give
// min, so its row declines), and NaN stays NaN.
TEST(ActivationOps, ClipWithMinAboveMaxAndNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor x = Tensor::from_vector<float>({3}, {-10, 2, 10});
  const Tensor lo = Tensor::scalar<float>(5.0f), hi = Tensor::scalar<float>(1.0f);
  std::string kernel;
  EXPECT_EQ(test::values_of<float>(clip13(x, &lo, &hi, &kernel)), (std::vector<float>{1, 1, 1}));
  EXPECT_EQ(kernel, "reference");
  OnnxBuilder b;
  b.input("x", DType::kFloat32, {2}).initializer("lo", Tensor::scalar<float>(0.0f));
  b.node("Clip", {"x", "lo"}, {"y"}).output("y");
  CompileOptions reference;
  reference.optimized_kernels = false;
  const Tensor y = Engine::load_from_bytes(b.bytes(), reference).run({Tensor::from_vector<float>({2}, {nan, -1})})[0];
  EXPECT_TRUE(std::isnan(y.data_as<float>()[0]));
  EXPECT_EQ(y.data_as<float>()[1], 0.0f);
}

// Before opset 11 the bounds are attributes, as the pytorch exporters of that time wrote ReLU6.
TEST(ActivationOps, ClipWithBoundsAsAttributes) {
  OnnxBuilder b(10);
  b.input("x", DType::kFloat32, {4}).node("Clip", {"x"}, {"y"}, {Attr::Float("min", 0), Attr::Float("max", 6)}).output("y");
  const Engine engine = Engine::load_from_bytes(b.bytes());
  EXPECT_EQ(kernel_of(engine, "Clip").rfind("f32-clip-onednn", 0), 0u) << kernel_of(engine, "Clip");
  EXPECT_EQ(test::values_of<float>(engine.run({Tensor::from_vector<float>({4}, {-1, 2, 6, 9})})[0]), (std::vector<float>{0, 2, 6, 6}));
  OnnxBuilder only_max(10);
  only_max.input("x", DType::kFloat32, {2}).node("Clip", {"x"}, {"y"}, {Attr::Float("max", 1)}).output("y");
  EXPECT_EQ(test::values_of<float>(Engine::load_from_bytes(only_max.bytes()).run({Tensor::from_vector<float>({2}, {-7, 3})})[0]),
            (std::vector<float>{-7, 1}));
}

TEST(ActivationOps, ClipBoundsOfAnotherTypeOrShapeAreRefused) {
  OnnxBuilder b;
  b.input("x", DType::kFloat32, {2}).initializer("lo", Tensor::from_vector<float>({2}, {0, 1}));
  b.node("Clip", {"x", "lo"}, {"y"}, {}, "clip").output("y");
  test::expect_error([&] { Engine::load_from_bytes(b.bytes()); }, ErrorCode::kInvalidModel, {"'clip'", "min has shape 2", "scalar"});
}

}  // namespace
}  // namespace sparrow
