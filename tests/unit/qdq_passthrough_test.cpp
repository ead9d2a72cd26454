// MaxPool, Resize and Concat between DequantizeLinear and QuantizeLinear of one grid run on the
// u8 values, with the same bytes as the float path; different grids keep the float path, except
// for Concat, whose inputs on other grids are requantized once each.
#include <gtest/gtest.h>

#include <functional>
#include <tuple>

#include "sparrow/engine.h"
#include "support/onnx_builder.h"
#include "support/test_support.h"

namespace sparrow {
namespace {

using test::Attr;
using test::OnnxBuilder;

const Shape kShape = {1, 4, 6, 6};

// x (u8) -> DQ -> op -> Q -> y; the op's float output is also a graph output when `unfused`,
// which keeps the passes from fusing it. `y_zero` sets the output grid's zero point.
std::string model(const std::string& op, bool unfused, int y_zero = 9) {
  OnnxBuilder b;
  b.input("x", DType::kUint8, kShape);
  b.initializer("s", Tensor::scalar<float>(0.1f)).initializer("z", Tensor::scalar<uint8_t>(uint8_t{9}));
  b.initializer("yz", Tensor::scalar<uint8_t>(static_cast<uint8_t>(y_zero)));
  b.node("DequantizeLinear", {"x", "s", "z"}, {"xf"});
  if (op == "MaxPool") {
    b.node("MaxPool", {"xf"}, {"f"}, {Attr::Ints("kernel_shape", {3, 3}), Attr::Ints("pads", {1, 1, 1, 1})});
  } else if (op == "Resize") {
    b.initializer("scales", Tensor::from_vector<float>({4}, {1, 1, 2, 2}));
    b.node("Resize", {"xf", "", "scales"}, {"f"}, {Attr::String("mode", "nearest")});
  } else {
    b.node("Concat", {"xf", "xf"}, {"f"}, {Attr::Int("axis", 1)});
  }
  b.node("QuantizeLinear", {"f", "s", "yz"}, {"y"}).output("y", DType::kUint8);
  if (unfused) b.output("f");
  return b.bytes();
}

std::string kernel_of(const Engine& e, const std::string& op) {
  for (const LayerInfo& l : e.describe().layers) {
    if (l.op == op) return l.kernel;
  }
  return "none";
}

Tensor input() {
  Tensor x(DType::kUint8, kShape);
  for (int64_t i = 0; i < x.size(); ++i) x.data_as<uint8_t>()[i] = static_cast<uint8_t>((i * 37) % 256);
  return x;
}

TEST(QdqPassthrough, MovesU8ValuesWithTheSameBytes) {
  const std::pair<std::string, std::string> cases[] = {
      {"MaxPool", "u8-maxpool-onednn"}, {"Resize", "u8-resize-onednn"}, {"Concat", "x-concat-"}};
  for (const auto& [op, row] : cases) {
    const Engine fused = Engine::load_from_bytes(model(op, false)), plain = Engine::load_from_bytes(model(op, true));
    EXPECT_EQ(kernel_of(fused, op).rfind(row, 0), 0u) << op << " ran on " << kernel_of(fused, op);
    EXPECT_EQ(kernel_of(plain, op).rfind("u8-", 0), std::string::npos) << op;
    EXPECT_TRUE(test::all_close(fused.run({input()})[0], plain.run({input()})[0], 0, 0)) << op;
  }
}

TEST(QdqPassthrough, AnotherGridKeepsTheFloatPath) {
  const Engine e = Engine::load_from_bytes(model("MaxPool", false, 10));
  EXPECT_EQ(kernel_of(e, "MaxPool").rfind("f32-maxpool-onednn", 0), 0u) << kernel_of(e, "MaxPool");
}

// Concat(DQ(a), DQ(b), DQ(a)) -> Q on the grid (y_scale, y_zero), each input on its own grid;
// `unfused` makes the float Concat a graph output too.
std::string concat_of_grids(float y_scale, uint8_t y_zero, bool unfused) {
  OnnxBuilder b;
  b.input("a", DType::kUint8, {1, 2, 5, 5}).input("b", DType::kUint8, {1, 3, 5, 5}).output("y", DType::kUint8);
  b.initializer("as", Tensor::scalar<float>(0.1f)).initializer("az", Tensor::scalar<uint8_t>(uint8_t{9}));
  b.initializer("bs", Tensor::scalar<float>(0.04f)).initializer("bz", Tensor::scalar<uint8_t>(uint8_t{100}));
  b.initializer("ys", Tensor::scalar<float>(y_scale)).initializer("yz", Tensor::scalar<uint8_t>(y_zero));
  b.node("DequantizeLinear", {"a", "as", "az"}, {"af"}).node("DequantizeLinear", {"b", "bs", "bz"}, {"bf"});
  b.node("Concat", {"af", "bf", "af"}, {"f"}, {Attr::Int("axis", 1)}).node("QuantizeLinear", {"f", "ys", "yz"}, {"y"});
  if (unfused) b.output("f");
  return b.bytes();
}

int count_layers(const Engine& e, const std::string& op) {
  int n = 0;
  for (const LayerInfo& l : e.describe().layers) n += l.op == op;
  return n;
}

TEST(QdqPassthrough, ConcatRequantizesInputsOnOtherGridsOnce) {
  Tensor a(DType::kUint8, {1, 2, 5, 5}), b(DType::kUint8, {1, 3, 5, 5});
  for (int64_t i = 0; i < a.size(); ++i) a.data_as<uint8_t>()[i] = static_cast<uint8_t>(i * 37 + 3);
  for (int64_t i = 0; i < b.size(); ++i) b.data_as<uint8_t>()[i] = static_cast<uint8_t>(i * 53 + 1);
  CompileOptions reference;
  reference.optimized_kernels = false;
  // A third grid: a and b requantized, a once for both its uses. a's grid: only b.
  const std::tuple<float, uint8_t, int> cases[] = {{0.07f, 30, 2}, {0.1f, 9, 1}};
  for (const auto& [scale, zero, tables] : cases) {
    SCOPED_TRACE("output grid " + std::to_string(scale) + ", " + std::to_string(zero));
    const Engine fused = Engine::load_from_bytes(concat_of_grids(scale, zero, false));
    EXPECT_EQ(count_layers(fused, "LookupTable"), tables);
    EXPECT_EQ(kernel_of(fused, "Concat").rfind("x-concat-", 0), 0u) << kernel_of(fused, "Concat");
    const Tensor unfused = Engine::load_from_bytes(concat_of_grids(scale, zero, true), reference).run({a, b})[0];
    EXPECT_TRUE(test::all_close(fused.run({a, b})[0], unfused, 0, 0));
  }
}

}  // namespace
}  // namespace sparrow
