// A Concat of channels-last tensors along their channels (x-concat-memcpy's interleaved_offsets)
// has the parts whose producers can write with a wider pixel stride (the sparse conv rows,
// Kernel::write_output_pixel_stride) written straight into their channel slices
// (runtime/compiler.cpp, place_interleaved_inputs): the Concat copies the others, and goes when
// none is left. A part read elsewhere too, or taken twice, is copied. The results equal the
// plan's with every part copied, byte for byte in INT8.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "sparrow/engine.h"
#include "support/onnx_builder.h"
#include "support/test_support.h"

namespace sparrow {
namespace {

using test::Attr;
using test::OnnxBuilder;

// x [1, 32, 12, 10] -> convs a (3x3, 24 channels) and b (1x1, 40 channels; 64 in regrid_b), 85 % of their
// weights zero, SiLU after each -> Concat(a, b[, a]) along the channels -> a 1x1 conv reading
// it. `read_b`: a Relu of b is a second output.
struct Variant {
  bool int8 = false;
  bool read_b = false;
  bool twice = false;
  bool regrid_b = false;  // INT8: b on a grid of its own, requantized onto the Concat's by a table
  // b's channels: a table writes in place rows of 64 bytes or more (x8_lut_kernel.cpp)
  int64_t b_channels() const { return regrid_b ? 64 : 40; }
};

Tensor sparse_weights(const Shape& shape, uint64_t seed) {
  Tensor w = test::random_tensor(shape, seed);
  std::mt19937_64 rng(seed);
  std::bernoulli_distribution zero(0.85);
  for (int64_t i = 0; i < w.size(); ++i) {
    if (zero(rng)) w.data_as<float>()[i] = 0.0f;
  }
  return w;
}

void silu(OnnxBuilder& b, const std::string& x, const std::string& y) {
  b.node("Sigmoid", {x}, {y + "_s"}).node("Mul", {x, y + "_s"}, {y});
}

std::string float_model(const Variant& v) {
  OnnxBuilder b;
  b.input("x", DType::kFloat32, {1, 32, 12, 10}).output("y");
  b.initializer("wa", sparse_weights({24, 32, 3, 3}, 1)).initializer("wb", sparse_weights({40, 32, 1, 1}, 2));
  const int64_t channels = v.twice ? 88 : 64;
  b.initializer("wc", test::random_tensor({16, channels, 1, 1}, 3));
  b.node("Conv", {"x", "wa"}, {"ca"}, {Attr::Ints("pads", {1, 1, 1, 1})}).node("Conv", {"x", "wb"}, {"cb"});
  silu(b, "ca", "a");
  silu(b, "cb", "bb");
  std::vector<std::string> parts = {"a", "bb"};
  if (v.twice) parts.push_back("a");
  b.node("Concat", parts, {"cat"}, {Attr::Int("axis", 1)}).node("Conv", {"cat", "wc"}, {"y"});
  if (v.read_b) b.node("Relu", {"bb"}, {"rb"}).output("rb");
  return b.bytes();
}

// The same in QDQ INT8 on one u8 grid: the Concat of u8 tensors stays u8.
std::string int8_model(const Variant& v) {
  OnnxBuilder b;
  b.input("x", DType::kUint8, {1, 32, 12, 10}).output("y", DType::kUint8);
  b.initializer("s", Tensor::scalar<float>(0.05f)).initializer("z", Tensor::scalar<uint8_t>(uint8_t{20}));
  auto quantized = [&](const std::string& name, const Shape& shape, uint64_t seed) {
    const Tensor w = sparse_weights(shape, seed);
    Tensor q(DType::kInt8, shape);
    for (int64_t i = 0; i < w.size(); ++i) q.data_as<int8_t>()[i] = static_cast<int8_t>(w.data_as<float>()[i] * 100.0f);
    b.initializer(name, q).initializer(name + "_s", Tensor::scalar<float>(0.004f)).initializer(name + "_z", Tensor::scalar<int8_t>(int8_t{0}));
    b.node("DequantizeLinear", {name, name + "_s", name + "_z"}, {name + "_f"});
  };
  quantized("wa", {24, 32, 3, 3}, 1);
  quantized("wb", {v.b_channels(), 32, 1, 1}, 2);
  quantized("wc", {16, (v.twice ? 48 : 24) + v.b_channels(), 1, 1}, 3);
  b.node("DequantizeLinear", {"x", "s", "z"}, {"xf"});
  b.node("Conv", {"xf", "wa_f"}, {"ca"}, {Attr::Ints("pads", {1, 1, 1, 1})}).node("QuantizeLinear", {"ca", "s", "z"}, {"a"});
  b.initializer("s_b", Tensor::scalar<float>(v.regrid_b ? 0.09f : 0.05f));
  b.node("Conv", {"xf", "wb_f"}, {"cb"}).node("QuantizeLinear", {"cb", "s_b", "z"}, {"bb"});
  b.node("DequantizeLinear", {"a", "s", "z"}, {"af"}).node("DequantizeLinear", {"bb", "s_b", "z"}, {"bf"});
  std::vector<std::string> parts = {"af", "bf"};
  if (v.twice) parts.push_back("af");
  b.node("Concat", parts, {"cat"}, {Attr::Int("axis", 1)}).node("QuantizeLinear", {"cat", "s", "z"}, {"catq"});
  b.node("DequantizeLinear", {"catq", "s", "z"}, {"catf"}).node("Conv", {"catf", "wc_f"}, {"c"});
  b.node("QuantizeLinear", {"c", "s", "z"}, {"y"});
  if (v.read_b) b.node("DequantizeLinear", {"bb", "s_b", "z"}, {"rbf"}).node("Relu", {"rbf"}, {"rb"}).output("rb");
  return b.bytes();
}

// The Concat's kernel label, or "" when the plan has no Concat.
std::string concat_kernel(const Engine& e) {
  for (const LayerInfo& l : e.describe().layers) {
    if (l.op.rfind("Concat", 0) == 0) return l.kernel;
  }
  return "";
}

Tensor input(const Variant& v, int64_t batch = 1) {
  if (!v.int8) return test::random_tensor({batch, 32, 12, 10}, 7, -2, 2);
  Tensor x(DType::kUint8, {batch, 32, 12, 10});
  std::mt19937_64 rng(7);
  for (int64_t i = 0; i < x.size(); ++i) x.data_as<uint8_t>()[i] = static_cast<uint8_t>(rng());
  return x;
}

// Compiled with the convs on the sparse rows (`sparse`, whose kernels write into slices), the
// dense row denied, or on the dense row only (every part copied).
Engine compiled(const Variant& v, bool sparse) {
  const test::ScopedEnv any("SPARROW_SPARSE_MIN_SPEEDUP", "0");
  CompileOptions o;
  o.kernels = v.int8 ? (sparse ? "-qu8-conv-onednn" : "-sparse-conv-u8s8-*") : (sparse ? "-f32-conv-onednn" : "-sparse-conv-f32-*");
  return Engine::load_from_bytes(v.int8 ? int8_model(v) : float_model(v), o);
}

// Bytes equal for u8 outputs (INT8 sparse and dense rows agree exactly), floats within 1e-4.
void expect_same_outputs(const Variant& v, const Engine& placed, const Engine& copied, int64_t batch = 1) {
  const std::vector<Tensor> a = placed.run({input(v, batch)}), b = copied.run({input(v, batch)});
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].dtype() == DType::kUint8) {
      EXPECT_EQ(test::values_of<uint8_t>(a[i]), test::values_of<uint8_t>(b[i])) << "output " << i;
    } else {
      EXPECT_TRUE(test::all_close(a[i], b[i], 1e-4, 1e-4)) << "output " << i;
    }
  }
}

class InterleavedConcat : public ::testing::TestWithParam<bool> {};

TEST_P(InterleavedConcat, SparsePartsAreWrittenIntoTheirSlices) {
  const Variant v{GetParam()};
  const Engine sparse = compiled(v, true), dense = compiled(v, false);
  if (concat_kernel(dense).empty()) GTEST_SKIP() << "no Concat left to test in the dense plan";
  EXPECT_EQ(concat_kernel(sparse), "") << "both parts written in place: the Concat goes";
  EXPECT_EQ(concat_kernel(dense).find("in place"), std::string::npos) << concat_kernel(dense);
  expect_same_outputs(v, sparse, dense);
}

TEST_P(InterleavedConcat, APartReadElsewhereOrTakenTwiceIsCopied) {
  for (const Variant& v : {Variant{GetParam(), true, false}, Variant{GetParam(), false, true}}) {
    SCOPED_TRACE(v.read_b ? "b read elsewhere" : "a taken twice");
    const Engine sparse = compiled(v, true), dense = compiled(v, false);
    EXPECT_NE(concat_kernel(sparse).find("1 of " + std::to_string(v.twice ? 3 : 2) + " inputs written in place"), std::string::npos)
        << concat_kernel(sparse);
    expect_same_outputs(v, sparse, dense);
  }
}

// A part on a grid of its own that is also read elsewhere reaches the Concat through a
// requantizing table (LookupTable), which writes its slice with the Concat's pixel stride, on
// the dense conv rows too, image after image. The plan with the table on the reference row
// (which copies) gives the same bytes.
TEST(InterleavedConcatInt8, ATableWritesItsPartInPlace) {
  const Variant v{true, true, false, true};
  const test::ScopedEnv any("SPARROW_SPARSE_MIN_SPEEDUP", "0");
  for (int64_t batch : {1, 3}) {
    SCOPED_TRACE("batch " + std::to_string(batch));
    CompileOptions placed_options, copied_options;
    placed_options.kernels = "-sparse-conv-u8s8-*";
    copied_options.kernels = "-sparse-conv-u8s8-*,-x8-lut-*";
    placed_options.batch_size = copied_options.batch_size = batch;
    const Engine placed = Engine::load_from_bytes(int8_model(v), placed_options);
    const Engine copied = Engine::load_from_bytes(int8_model(v), copied_options);
    int tables = 0;
    for (const LayerInfo& l : placed.describe().layers) tables += l.op == "LookupTable";
    ASSERT_EQ(tables, 1) << "b's requantization is one table";
    EXPECT_NE(concat_kernel(placed).find("1 of 2 inputs written in place"), std::string::npos) << concat_kernel(placed);
    EXPECT_EQ(concat_kernel(copied).find("in place"), std::string::npos) << concat_kernel(copied);
    expect_same_outputs(v, placed, copied, batch);
  }
}

// One-channel NHWC parts joined along their width: each row of the Concat's output is a run
// along the width, not a pixel's channels, so no producer may write it with a pixel stride.
TEST(InterleavedConcatAlongWidth, PartsAreCopied) {
  OnnxBuilder b;
  b.input("x", DType::kFloat32, {1, 16, 6, 5}).output("y");
  b.initializer("wa", sparse_weights({1, 16, 3, 3}, 4)).initializer("wb", sparse_weights({1, 16, 1, 1}, 5));
  b.node("Conv", {"x", "wa"}, {"a"}, {Attr::Ints("pads", {1, 1, 1, 1})}).node("Conv", {"x", "wb"}, {"bb"});
  b.node("Concat", {"a", "bb"}, {"y"}, {Attr::Int("axis", 3)});
  const test::ScopedEnv any("SPARROW_SPARSE_MIN_SPEEDUP", "0");
  CompileOptions sparse_options, reference_options;
  sparse_options.kernels = "-f32-conv-onednn";
  reference_options.optimized_kernels = false;
  const Engine sparse = Engine::load_from_bytes(b.bytes(), sparse_options);
  const Engine reference = Engine::load_from_bytes(b.bytes(), reference_options);
  EXPECT_EQ(concat_kernel(sparse).find("in place"), std::string::npos) << concat_kernel(sparse);
  const Tensor x = test::random_tensor({1, 16, 6, 5}, 8, -2, 2);
  EXPECT_TRUE(test::all_close(sparse.run({x})[0], reference.run({x})[0], 1e-4, 1e-4));
}

INSTANTIATE_TEST_SUITE_P(Types, InterleavedConcat, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& p) { return p.param ? "Int8" : "Float"; });

}  // namespace
}  // namespace sparrow
