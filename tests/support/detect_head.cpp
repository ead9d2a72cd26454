#include "support/detect_head.h"

#include <random>
#include <vector>

#include "support/test_support.h"

namespace sparrow::test {

OnnxBuilder head_model(const Head& c) {
  OnnxBuilder b(13);
  const int64_t o = c.outputs(), k = c.kernel, pad = k / 2;
  const Tensor bias = test::random_tensor({o}, 7);
  if (c.int8) {
    std::mt19937 rng(11);
    Tensor wq(DType::kInt8, {o, c.channels, k, k});
    for (int64_t i = 0; i < wq.size(); ++i) wq.data_as<int8_t>()[i] = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
    std::vector<float> scales(static_cast<size_t>(o));
    for (float& s : scales) s = 0.0005f * static_cast<float>(1 + rng() % 9);
    b.input("xq", DType::kUint8, {c.batch, c.channels, c.h, c.w});
    b.initializer("xs", Tensor::scalar<float>(0.02f)).initializer("xz", Tensor::scalar<uint8_t>(12));
    b.initializer("wq", wq).initializer("ws", Tensor::from_vector<float>({o}, scales)).initializer("wz", Tensor(DType::kInt8, {o}));
    b.node("DequantizeLinear", {"xq", "xs", "xz"}, {"x"}).node("DequantizeLinear", {"wq", "ws", "wz"}, {"w"}, {Attr::Int("axis", 0)});
  } else {
    b.input("x", DType::kFloat32, {c.batch, c.channels, c.h, c.w});
    b.initializer("w", test::random_tensor({o, c.channels, k, k}, 5, -0.5f, 0.5f));
  }
  b.initializer("b", bias);
  b.node("Conv", {"x", "w", "b"}, {"conv"}, {Attr::Ints("kernel_shape", {k, k}), Attr::Ints("pads", {pad, pad, pad, pad})});
  b.node("Sigmoid", {"conv"}, {"s5"});
  b.initializer("shape", Tensor::from_vector<int64_t>({5}, {c.batch, 3, 4 + c.classes, c.h, c.w}));
  b.node("Reshape", {"s5", "shape"}, {"r"}).node("Transpose", {"r"}, {"s"}, {Attr::Ints("perm", {0, 1, 3, 4, 2})});
  b.initializer("split", Tensor::from_vector<int64_t>({3}, {2, 2, c.classes}));
  b.initializer("two", Tensor::scalar<float>(2.0f)).initializer("stride", Tensor::scalar<float>(8.0f));
  b.initializer("grid", test::random_tensor({1, 3, c.h, c.w, 2}, 3, -1, 8));
  b.initializer("anchors", test::random_tensor({1, 3, 1, 1, 2}, 4, 5, 40)).initializer("one", Tensor::scalar<float>(1.0f));
  b.node("Split", {"s", "split"}, {"xy", "wh", "s_rest"}, {Attr::Int("axis", 4)});
  b.node("Mul", {"xy", "two"}, {"xy2"}).node("Add", {"xy2", "grid"}, {"xyg"}).node("Mul", {"stride", "xyg"}, {"xyo"});
  b.node("Mul", {"wh", "two"}, {"wh2"}).node("Pow", {"wh2", "two"}, {"whp"}).node("Mul", {"whp", "anchors"}, {"who"});
  b.node("Sub", {"one", "s_rest"}, {"rest"});
  b.node("Concat", {"xyo", "who", "rest"}, {"y"}, {Attr::Int("axis", -1)}).output("y");
  if (c.conv_read_twice) b.output("conv");
  return b;
}

Tensor head_input(const Head& c) {
  if (!c.int8) return test::random_tensor({c.batch, c.channels, c.h, c.w}, 9, -2, 2);
  Tensor x(DType::kUint8, {c.batch, c.channels, c.h, c.w});
  std::mt19937 rng(13);
  for (int64_t i = 0; i < x.size(); ++i) x.data_as<uint8_t>()[i] = static_cast<uint8_t>(rng() % 256);
  return x;
}

}  // namespace sparrow::test
