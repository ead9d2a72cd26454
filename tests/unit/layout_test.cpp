// Strided views: which reshapes of a strided layout (a conv's NHWC output) read the same memory,
// and that a Transpose after such a view runs without a reorder to plain in between.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "kernels/isa.h"
#include "kernels/layout.h"
#include "sparrow/engine.h"
#include "support/onnx_builder.h"
#include "support/test_support.h"

namespace sparrow {
namespace {

using kernels::Layout;
using test::Attr;

Layout nhwc(const Shape& s) {
  const dnnl::memory::dims strides = {s[1] * s[2] * s[3], 1, s[3] * s[1], s[1]};
  return Layout{dnnl::memory::desc(kernels::onednn_dims(s), dnnl::memory::data_type::f32, strides)};
}

TEST(StridedView, SplittingTheChannelsOfNhwcIsAView) {
  const std::optional<Layout> v = kernels::reshaped_layout(nhwc({2, 6, 4, 5}), DType::kFloat32, {2, 6, 4, 5}, {2, 2, 3, 4, 5});
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(kernels::element_strides(*v, {2, 2, 3, 4, 5}), (std::vector<int64_t>{120, 3, 1, 30, 6}));
}

TEST(StridedView, MergingDimsThatAreNotContiguousIsNot) {
  // NHWC keeps C innermost: C and H are not adjacent in memory, H and W are.
  EXPECT_FALSE(kernels::reshaped_layout(nhwc({1, 6, 4, 5}), DType::kFloat32, {1, 6, 4, 5}, {1, 24, 5}).has_value());
  const std::optional<Layout> hw = kernels::reshaped_layout(nhwc({1, 6, 4, 5}), DType::kFloat32, {1, 6, 4, 5}, {1, 6, 20});
  ASSERT_TRUE(hw.has_value());
  EXPECT_EQ(kernels::element_strides(*hw, {1, 6, 20}), (std::vector<int64_t>{120, 1, 6}));
}

TEST(StridedView, PlainStaysPlain) {
  const std::optional<Layout> v = kernels::reshaped_layout(Layout::plain(), DType::kFloat32, {1, 6, 4, 5}, {1, 24, 5});
  ASSERT_TRUE(v.has_value());
  EXPECT_TRUE(v->is_plain());
}

// YOLOv5's Detect tail: the conv writes NHWC, the Reshape is a view of it, and the Transpose
// reads that view: no Reorder layer, and the reference's numbers.
TEST(StridedView, DetectTailRunsWithoutAReorder) {
  test::OnnxBuilder b;
  b.input("x", DType::kFloat32, {2, 16, 6, 7});
  b.initializer("w", test::random_tensor({3 * 9, 16, 1, 1}, 2));
  b.initializer("shape", Tensor::from_vector<int64_t>({5}, {2, 3, 9, 6, 7}));
  b.node("Conv", {"x", "w"}, {"c"}).node("Reshape", {"c", "shape"}, {"r"});
  b.node("Transpose", {"r"}, {"y"}, {Attr::Ints("perm", {0, 1, 3, 4, 2})}).output("y");
  const Engine engine = Engine::load_from_bytes(b.bytes());
  std::string conv_layout;
  for (const LayerInfo& layer : engine.describe().layers) {
    // (The input's reorder to the conv's NHWC is expected; one of the conv's output is not.)
    EXPECT_FALSE(layer.op == "Reorder" && layer.name == "c") << "a reorder between the conv and the transpose";
    if (layer.op == "Conv") conv_layout = layer.layout;
  }
  EXPECT_NE(conv_layout, "plain") << "the conv wrote plain: the case under test did not arise";
  CompileOptions slow;
  slow.optimized_kernels = false;
  const Tensor x = test::random_tensor({2, 16, 6, 7}, 4);
  EXPECT_TRUE(test::all_close(engine.run({x})[0], Engine::load_from_bytes(b.bytes(), slow).run({x})[0], 1e-5, 1e-5));
}

// A QDQ model's float input, quantized and read only by a QLinearConv, is quantized straight into
// the conv's NHWC: no Reorder of it (the conv's own output, a graph output, is reordered to
// plain). Also a graph output, it stays plain, as outputs are.
// `channels` up to 4 take the f32-qu8-quantize-nhwc rows, more oneDNN's reorder.
std::string quantized_input_conv(bool quantized_input_is_output, int64_t channels = 8) {
  test::OnnxBuilder b;
  b.input("x", DType::kFloat32, {1, channels, 10, 10});
  b.initializer("xs", Tensor::scalar<float>(1.0f / 255)).initializer("xz", Tensor::scalar<uint8_t>(uint8_t{3}));
  Tensor wq(DType::kInt8, {16, channels, 3, 3});
  for (int64_t i = 0; i < wq.size(); ++i) wq.data_as<int8_t>()[i] = static_cast<int8_t>((i * 37) % 51 - 25);
  b.initializer("wq", wq).initializer("ws", Tensor::from_vector<float>({16}, std::vector<float>(16, 0.004f)));
  b.initializer("wz", Tensor(DType::kInt8, {16}));
  b.initializer("ys", Tensor::scalar<float>(0.01f)).initializer("yz", Tensor::scalar<uint8_t>(uint8_t{128}));
  b.node("QuantizeLinear", {"x", "xs", "xz"}, {"xq"}).node("DequantizeLinear", {"xq", "xs", "xz"}, {"xf"});
  b.node("DequantizeLinear", {"wq", "ws", "wz"}, {"wf"}, {Attr::Int("axis", 0)});
  b.node("Conv", {"xf", "wf"}, {"c"}, {Attr::Ints("kernel_shape", {3, 3}), Attr::Ints("pads", {1, 1, 1, 1})});
  b.node("QuantizeLinear", {"c", "ys", "yz"}, {"y"}).output("y", DType::kUint8);
  if (quantized_input_is_output) b.output("xq", DType::kUint8);
  return b.bytes();
}

std::string quantize_layout(const Engine& engine, int* reorders) {
  std::string layout;
  for (const LayerInfo& layer : engine.describe().layers) {
    if (layer.op == "QuantizeLinear") layout = layer.layout;
    *reorders += layer.op == "Reorder" && layer.name == "xq";
  }
  return layout;
}

TEST(QuantizedInput, IsQuantizedStraightIntoTheConvsLayout) {
  for (const int64_t channels : {8, 3}) {
    SCOPED_TRACE(std::to_string(channels) + " channels");
    const Engine engine = Engine::load_from_bytes(quantized_input_conv(false, channels));
    int reorders = 0;
    EXPECT_NE(quantize_layout(engine, &reorders), "plain");
    EXPECT_EQ(reorders, 0);
    for (const LayerInfo& layer : engine.describe().layers) {
      if (layer.op != "QuantizeLinear") continue;
      const bool own = channels <= 4 && kernels::isa_available(kernels::Isa::kAvx512Vbmi);
      EXPECT_EQ(layer.kernel.rfind("f32-qu8-quantize-nhwc", 0) == 0, own) << layer.kernel;
    }
    // The reference quantizes by division where the rows multiply by the reciprocal: a tie may
    // land one step apart, and the conv's bytes with it.
    CompileOptions slow;
    slow.optimized_kernels = false;
    const Tensor x = test::random_tensor({1, channels, 10, 10}, 5, 0, 1);
    const Tensor y = engine.run({x})[0];
    const Tensor expected = Engine::load_from_bytes(quantized_input_conv(false, channels), slow).run({x})[0];
    ASSERT_EQ(y.size(), expected.size());
    int equal = 0;
    for (int64_t i = 0; i < y.size(); ++i) {
      const int d = y.data_as<uint8_t>()[i] - expected.data_as<uint8_t>()[i];
      EXPECT_LE(std::abs(d), 1) << "at " << i;
      equal += d == 0;
    }
    EXPECT_GT(equal, y.size() * 9 / 10);
  }
}

TEST(QuantizedInput, ThatIsAlsoAGraphOutputStaysPlain) {
  const Engine engine = Engine::load_from_bytes(quantized_input_conv(true));
  int reorders = 0;
  EXPECT_EQ(quantize_layout(engine, &reorders), "plain");
}

}  // namespace
}  // namespace sparrow
