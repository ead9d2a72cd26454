// fuse_segmented_elementwise and its kernel: YOLOv5's decode (Split -> per-part arithmetic with
// constants -> Concat) becomes one SegmentedElementwise that computes what the unfused nodes do,
// and patterns it cannot take whole are left alone.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "onnx/onnx_importer.h"
#include "passes/passes.h"
#include "sparrow/engine.h"
#include "support/onnx_builder.h"
#include "support/test_support.h"

namespace sparrow {
namespace {

using test::Attr;
using test::OnnxBuilder;

struct Variant {
  bool xy_read_twice = false;       // a chain value also feeds a graph output: no fusion
  bool concat_reordered = false;    // the Concat takes the parts out of order: no fusion
  int64_t split_axis = 4;
  bool transposed = false;          // the head arrives as 1x3x(4+classes)xHxW, moved by a Transpose
};

// Detect's decode on a 1x3xHxWx(4+classes) head: xy = (s*2 + grid) * stride,
// wh = (s*2)^2 * anchors (broadcast along H and W), and here 1 - s for the rest (a constant on
// the left of a step that does not commute).
OnnxBuilder decode_head(int64_t batch, int64_t h, int64_t w, int64_t classes, const Variant& v = {}) {
  OnnxBuilder b;
  const int64_t c = 4 + classes;
  if (v.transposed) {
    b.input("x", DType::kFloat32, {batch, 3, c, h, w});
    b.node("Transpose", {"x"}, {"xt"}, {Attr::Ints("perm", {0, 1, 3, 4, 2})});
  } else {
    b.input("x", DType::kFloat32, {batch, 3, h, w, c});
  }
  b.initializer("split", Tensor::from_vector<int64_t>({3}, {2, 2, classes}));
  b.initializer("two", Tensor::scalar<float>(2.0f));
  b.initializer("grid", test::random_tensor({1, 3, h, w, 2}, 3, -1, 8));
  b.initializer("stride", Tensor::scalar<float>(8.0f));
  b.initializer("anchors", test::random_tensor({1, 3, 1, 1, 2}, 4, 5, 40));
  b.initializer("one", Tensor::scalar<float>(1.0f));
  b.node("Sigmoid", {v.transposed ? "xt" : "x"}, {"s"});
  b.node("Split", {"s", "split"}, {"xy", "wh", "s_rest"}, {Attr::Int("axis", v.split_axis)});
  b.node("Mul", {"xy", "two"}, {"xy2"}).node("Add", {"xy2", "grid"}, {"xyg"}).node("Mul", {"stride", "xyg"}, {"xyo"});
  b.node("Mul", {"wh", "two"}, {"wh2"}).node("Pow", {"wh2", "two"}, {"whp"}).node("Mul", {"whp", "anchors"}, {"who"});
  b.node("Sub", {"one", "s_rest"}, {"rest"});
  const std::vector<std::string> parts =
      v.concat_reordered ? std::vector<std::string>{"who", "xyo", "rest"} : std::vector<std::string>{"xyo", "who", "rest"};
  b.node("Concat", parts, {"y"}, {Attr::Int("axis", -1)});
  b.output("y");
  if (v.xy_read_twice) b.output("xyg");
  return b;
}

std::vector<std::string> ops_after_passes(const OnnxBuilder& b) {
  graph::Graph g = onnx_import::import_model(b.bytes(), "");
  passes::optimize(g, CompileOptions{});
  std::vector<std::string> ops;
  for (const graph::Node& n : g.nodes) ops.push_back(n.op);
  return ops;
}

// What the model means, computed here element by element.
Tensor expected_decode(const Tensor& x, int64_t classes) {
  const Shape& s = x.shape();
  const Tensor grid = test::random_tensor({1, 3, s[2], s[3], 2}, 3, -1, 8);
  const Tensor anchors = test::random_tensor({1, 3, 1, 1, 2}, 4, 5, 40);
  Tensor y(DType::kFloat32, s);
  const int64_t c = 4 + classes;
  const float* in = x.data_as<float>();
  float* out = y.data_as<float>();
  for (int64_t r = 0; r < x.size() / c; ++r) {
    const int64_t a = (r / (s[2] * s[3])) % 3, hw = r % (s[2] * s[3]);
    for (int64_t j = 0; j < c; ++j) {
      const float sig = 1.0f / (1.0f + std::exp(-in[r * c + j]));
      float v = 1.0f - sig;
      if (j < 2) v = (sig * 2 + grid.data_as<float>()[(a * s[2] * s[3] + hw) * 2 + j]) * 8.0f;
      else if (j < 4) v = (sig * 2) * (sig * 2) * anchors.data_as<float>()[a * 2 + (j - 2)];
      out[r * c + j] = v;
    }
  }
  return y;
}

TEST(SegmentedElementwise, DecodeHeadBecomesOneNode) {
  const std::vector<std::string> ops = ops_after_passes(decode_head(1, 4, 5, 3));
  EXPECT_EQ(ops, (std::vector<std::string>{"Sigmoid", "SegmentedElementwise"}));
}

TEST(SegmentedElementwise, ComputesWhatTheUnfusedNodesDo) {
  // The last case has rows enough to split over threads, mid-way through the grid.
  const std::vector<std::array<int64_t, 4>> cases = {{1, 4, 5, 3}, {2, 7, 3, 80}, {3, 1, 1, 1}, {2, 20, 13, 2}};
  for (const auto& [batch, h, w, classes] : cases) {
    SCOPED_TRACE(std::to_string(batch) + "x3x" + std::to_string(h) + "x" + std::to_string(w) + " classes " +
                 std::to_string(classes));
    const OnnxBuilder fused = decode_head(batch, h, w, classes);
    const Tensor x = test::random_tensor({batch, 3, h, w, 4 + classes}, 9, -6, 6);
    const Engine engine = Engine::load_from_bytes(fused.bytes());
    bool on_kernel = false;
    for (const LayerInfo& layer : engine.describe().layers) on_kernel |= layer.kernel == "f32-segmented-elementwise-scalar";
    EXPECT_TRUE(on_kernel);
    EXPECT_TRUE(test::all_close(engine.run({x})[0], expected_decode(x, classes), 1e-5, 1e-5));
    // The same graph unfused (a chain value is also an output) on oneDNN's rows agrees too.
    const Engine unfused = Engine::load_from_bytes(decode_head(batch, h, w, classes, {true}).bytes());
    EXPECT_TRUE(test::all_close(engine.run({x})[0], unfused.run({x})[0], 1e-6, 1e-6));
  }
}

// x with its axis 2 moved last, as the Transpose before YOLOv5's decode moves it.
Tensor channels_last(const Tensor& x) {
  const Shape& s = x.shape();
  const int64_t planes = s[0] * s[1], c = s[2], hw = s[3] * s[4];
  Tensor y(DType::kFloat32, {s[0], s[1], s[3], s[4], c});
  for (int64_t p = 0; p < planes; ++p) {
    for (int64_t j = 0; j < c; ++j) {
      for (int64_t i = 0; i < hw; ++i) y.data_as<float>()[(p * hw + i) * c + j] = x.data_as<float>()[(p * c + j) * hw + i];
    }
  }
  return y;
}

// The Transpose before the Split becomes the op's gather: no Transpose is left, and the result is
// the decode of the transposed head (task boundaries mid-plane in the larger cases).
TEST(SegmentedElementwise, AbsorbsTheTransposeBeforeIt) {
  Variant v;
  v.transposed = true;
  const std::vector<std::string> ops = ops_after_passes(decode_head(1, 4, 5, 3, v));
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "Transpose"), 0);
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "SegmentedElementwise"), 1);
  const std::vector<std::array<int64_t, 4>> cases = {{1, 4, 5, 3}, {2, 7, 3, 80}, {3, 1, 1, 1}, {2, 20, 13, 2}};
  for (const auto& [batch, h, w, classes] : cases) {
    SCOPED_TRACE(std::to_string(batch) + "x3x" + std::to_string(h) + "x" + std::to_string(w) + " classes " +
                 std::to_string(classes));
    const Tensor x = test::random_tensor({batch, 3, 4 + classes, h, w}, 9, -6, 6);
    const Tensor y = Engine::load_from_bytes(decode_head(batch, h, w, classes, v).bytes()).run({x})[0];
    EXPECT_TRUE(test::all_close(y, expected_decode(channels_last(x), classes), 1e-5, 1e-5));
    Variant unfused = v;
    unfused.xy_read_twice = true;
    EXPECT_TRUE(test::all_close(y, Engine::load_from_bytes(decode_head(batch, h, w, classes, unfused).bytes()).run({x})[0], 1e-6, 1e-6));
    CompileOptions reference;
    reference.optimized_kernels = false;
    EXPECT_TRUE(test::all_close(y, Engine::load_from_bytes(decode_head(batch, h, w, classes, v).bytes(), reference).run({x})[0], 1e-6, 1e-6));
  }
}

TEST(SegmentedElementwise, PatternsItCannotTakeWholeAreLeftAlone) {
  for (const Variant& v : {Variant{true}, Variant{false, true}}) {
    const std::vector<std::string> ops = ops_after_passes(decode_head(1, 4, 5, 3, v));
    EXPECT_EQ(std::count(ops.begin(), ops.end(), "SegmentedElementwise"), 0);
    EXPECT_EQ(std::count(ops.begin(), ops.end(), "Split"), 1);
  }
}

TEST(SegmentedElementwise, SplitAlongAnotherAxisIsLeftAlone) {
  OnnxBuilder b;
  b.input("x", DType::kFloat32, {1, 4, 6});
  b.initializer("split", Tensor::from_vector<int64_t>({2}, {2, 2}));
  b.initializer("two", Tensor::scalar<float>(2.0f));
  b.node("Split", {"x", "split"}, {"p", "q"}, {Attr::Int("axis", 1)});
  b.node("Mul", {"p", "two"}, {"p2"}).node("Concat", {"p2", "q"}, {"y"}, {Attr::Int("axis", 1)}).output("y");
  const std::vector<std::string> ops = ops_after_passes(b);
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "SegmentedElementwise"), 0);
}

}  // namespace
}  // namespace sparrow
