// Strided views: which reshapes of a strided layout (a conv's NHWC output) read the same memory,
// and that a Transpose after such a view runs without a reorder to plain in between.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace sparrow
