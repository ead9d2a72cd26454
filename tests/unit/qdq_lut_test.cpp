// Quantized elementwise regions become one LookupTable (passes/fuse_qdq_lut.cpp): the region
// ONNX Runtime's quantizer writes for YOLOv5's SiLU, requantizations, s8 grids; regions the pass
// must leave alone; and every x8-lut kernel row against the reference. ctest runs this again
// under SPARROW_ISA=avx2, avxvnni, avx512 and scalar, where the richer rows decline.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "kernels/x8_lut.h"
#include "onnx/onnx_importer.h"
#include "passes/passes.h"
#include "sparrow/engine.h"
#include "support/onnx_builder.h"
#include "support/test_support.h"

namespace sparrow {
namespace {

using test::Attr;
using test::OnnxBuilder;

constexpr int64_t kChannels = 16;  // whole oneDNN blocks, so the convs may pick a blocked layout

// x -> DQ -> Conv -> Q(c) -> DQ(c) -> Sigmoid -> Q(s) -> DQ(s); Mul(DQ(c), DQ(s)) -> Q -> y: a
// YOLOv5 Conv+SiLU as ONNX Runtime's quantizer writes it, one DequantizeLinear per tensor shared
// by Sigmoid and Mul. With `read_sigmoid` the Sigmoid's float result is a graph output as well;
// with `read_conv` the conv's u8 result.
void conv_silu(OnnxBuilder& b, const std::string& x, int64_t cin, const std::string& y, uint64_t seed, bool read_sigmoid,
               bool read_conv) {
  const std::string p = y + ".";
  std::mt19937 rng(static_cast<uint32_t>(seed));
  Tensor w(DType::kInt8, {kChannels, cin, 3, 3});
  for (int64_t i = 0; i < w.size(); ++i) w.data_as<int8_t>()[i] = static_cast<int8_t>(static_cast<int>(rng() % 121) - 60);
  b.initializer(p + "xs", Tensor::scalar<float>(0.02f)).initializer(p + "xz", Tensor::scalar<uint8_t>(uint8_t{10}));
  b.initializer(p + "w", w).initializer(p + "ws", Tensor::scalar<float>(0.01f)).initializer(p + "wz", Tensor::scalar<int8_t>(int8_t{0}));
  b.initializer(p + "cs", Tensor::scalar<float>(0.05f)).initializer(p + "cz", Tensor::scalar<uint8_t>(uint8_t{128}));
  b.initializer(p + "ss", Tensor::scalar<float>(1.0f / 255)).initializer(p + "sz", Tensor::scalar<uint8_t>(uint8_t{0}));
  b.initializer(p + "ys", Tensor::scalar<float>(0.03f)).initializer(p + "yz", Tensor::scalar<uint8_t>(uint8_t{20}));
  b.node("DequantizeLinear", {x, p + "xs", p + "xz"}, {p + "xf"}).node("DequantizeLinear", {p + "w", p + "ws", p + "wz"}, {p + "wf"});
  b.node("Conv", {p + "xf", p + "wf"}, {p + "conv"}, {Attr::Ints("kernel_shape", {3, 3}), Attr::Ints("pads", {1, 1, 1, 1})});
  b.node("QuantizeLinear", {p + "conv", p + "cs", p + "cz"}, {p + "c"}).node("DequantizeLinear", {p + "c", p + "cs", p + "cz"}, {p + "cf"});
  b.node("Sigmoid", {p + "cf"}, {p + "sig"}).node("QuantizeLinear", {p + "sig", p + "ss", p + "sz"}, {p + "s"});
  b.node("DequantizeLinear", {p + "s", p + "ss", p + "sz"}, {p + "sf"}).node("Mul", {p + "cf", p + "sf"}, {p + "m"});
  b.node("QuantizeLinear", {p + "m", p + "ys", p + "yz"}, {y});
  if (read_sigmoid) b.output(p + "sig");
  if (read_conv) b.output(p + "c", DType::kUint8);
}

// Two Conv+SiLU blocks, the second reading the first's u8 output y, which is output 0.
std::string two_blocks(bool read_sigmoid = false, bool read_conv = false) {
  OnnxBuilder b;
  b.input("x", DType::kUint8, {1, 4, 10, 10}).output("y", DType::kUint8);
  conv_silu(b, "x", 4, "a", 1, read_sigmoid, read_conv);
  conv_silu(b, "a", kChannels, "y", 2, read_sigmoid, read_conv);
  return b.bytes();
}

Tensor bytes_input(const Shape& shape, DType dtype = DType::kUint8) {
  Tensor x(dtype, shape);
  std::mt19937 rng(5);
  for (int64_t i = 0; i < x.size(); ++i) static_cast<uint8_t*>(x.data())[i] = static_cast<uint8_t>(rng());
  return x;
}

std::vector<std::string> optimized_ops(const std::string& bytes) {
  graph::Graph g = onnx_import::import_model(bytes, "");
  passes::optimize(g, CompileOptions{});
  std::vector<std::string> ops;
  for (const graph::Node& n : g.nodes) ops.push_back(n.op);
  return ops;
}

// The `which`-th layer running `op`; one whose kernel is "none" when there is none.
LayerInfo layer(const Engine& e, const std::string& op, int which = 0) {
  for (const LayerInfo& l : e.describe().layers) {
    if (l.op == op && which-- == 0) return l;
  }
  LayerInfo none;
  none.kernel = "none";
  return none;
}

Tensor run(const std::string& bytes, const CompileOptions& o, const Tensor& x) { return Engine::load_from_bytes(bytes, o).run({x})[0]; }

CompileOptions reference_kernels() {
  CompileOptions o;
  o.optimized_kernels = false;
  return o;
}

// The table stays a node of its own where the conv's u8 result is read elsewhere too.
TEST(QdqLut, SiluRegionBecomesOneLookupTable) {
  EXPECT_EQ(optimized_ops(two_blocks(false, true)),
            (std::vector<std::string>{"QLinearConv", "LookupTable", "QLinearConv", "LookupTable"}));
}

// Otherwise the conv absorbs it (passes/fuse_conv_lookup.cpp), on every conv row: the bytes of
// the reference kernels and of the unfused graph.
TEST(QdqLut, ConvAbsorbsTheTableAfterIt) {
  EXPECT_EQ(optimized_ops(two_blocks()), (std::vector<std::string>{"QLinearConv", "QLinearConv"}));
  const Tensor x = bytes_input({1, 4, 10, 10});
  const Tensor unfused = run(two_blocks(false, true), reference_kernels(), x);
  EXPECT_TRUE(test::all_close(run(two_blocks(), reference_kernels(), x), unfused, 0, 0));
  const Engine e = Engine::load_from_bytes(two_blocks());
  for (int k = 0; k < 2; ++k) {
    EXPECT_NE(layer(e, "QLinearConv", k).kernel, "reference");
  }
  EXPECT_TRUE(test::all_close(e.run({x})[0], unfused, 0, 0));
}

// Two Conv+SiLU blocks of x concatenated onto another grid than theirs, as YOLOv5's C3 does: each
// SiLU output is requantized onto the Concat's grid by a second table. With `read_conv` the convs'
// u8 results are graph outputs too, which keeps both tables nodes of their own.
std::string concat_of_blocks(bool read_conv = false) {
  OnnxBuilder b;
  b.input("x", DType::kUint8, {1, 4, 10, 10}).output("y", DType::kUint8);
  conv_silu(b, "x", 4, "a", 1, false, read_conv);
  conv_silu(b, "x", 4, "b", 2, false, read_conv);
  b.node("DequantizeLinear", {"a", "a.ys", "a.yz"}, {"af"}).node("DequantizeLinear", {"b", "b.ys", "b.yz"}, {"bf"});
  b.node("Concat", {"af", "bf"}, {"cat"}, {Attr::Int("axis", 1)});
  b.initializer("os", Tensor::scalar<float>(0.07f)).initializer("oz", Tensor::scalar<uint8_t>(uint8_t{3}));
  b.node("QuantizeLinear", {"cat", "os", "oz"}, {"y"});
  return b.bytes();
}

// A conv that absorbed its SiLU absorbs the requantization after it too, the tables composed.
TEST(QdqLut, ConvComposesTheTablesAfterIt) {
  EXPECT_EQ(optimized_ops(concat_of_blocks()), (std::vector<std::string>{"QLinearConv", "QLinearConv", "Concat"}));
  const std::vector<std::string> unfused = optimized_ops(concat_of_blocks(true));
  EXPECT_EQ(std::count(unfused.begin(), unfused.end(), "LookupTable"), 4);
  const Tensor x = bytes_input({1, 4, 10, 10});
  const Tensor expected = run(concat_of_blocks(true), reference_kernels(), x);
  std::set<uint8_t> values(expected.data_as<uint8_t>(), expected.data_as<uint8_t>() + expected.size());
  EXPECT_GE(values.size(), 16u) << "a comparison of saturated outputs";
  EXPECT_TRUE(test::all_close(run(concat_of_blocks(), reference_kernels(), x), expected, 0, 0));
  EXPECT_TRUE(test::all_close(Engine::load_from_bytes(concat_of_blocks()).run({x})[0], expected, 0, 0));
}

// The table holds what the region computes: the bytes of the float path, which the pass leaves
// alone when the Sigmoid's result is read outside the region.
TEST(QdqLut, TableGivesTheBytesOfTheFloatPath) {
  const std::vector<std::string> unfused = optimized_ops(two_blocks(true));
  EXPECT_EQ(std::count(unfused.begin(), unfused.end(), "LookupTable"), 0);
  EXPECT_EQ(std::count(unfused.begin(), unfused.end(), "Sigmoid"), 2);
  const Tensor x = bytes_input({1, 4, 10, 10});
  const Tensor fused = run(two_blocks(), reference_kernels(), x), plain = run(two_blocks(true), reference_kernels(), x);
  EXPECT_TRUE(test::all_close(fused, plain, 0, 0));
  std::set<uint8_t> values(fused.data_as<uint8_t>(), fused.data_as<uint8_t>() + fused.size());
  EXPECT_GE(values.size(), 16u) << "a comparison of saturated outputs";
}

// Every x8-lut row gives the reference's bytes, in the layout the int8 conv wrote (no reorder
// between them), and its output feeds the next conv.
TEST(QdqLut, EveryX8LutRowGivesTheReferenceBytes) {
  const Tensor x = bytes_input({1, 4, 10, 10});
  CompileOptions reference_lut;
  reference_lut.kernels = "qu8-conv-onednn";
  const Tensor expected = run(two_blocks(false, true), reference_lut, x);
  for (const kernels::X8LutVariant& v : kernels::x8_lut_variants()) {
    SCOPED_TRACE(v.name);
    CompileOptions o;
    o.kernels = std::string("qu8-conv-onednn,") + v.name;
    const Engine e = Engine::load_from_bytes(two_blocks(false, true), o);
    for (int k = 0; k < 2; ++k) {
      const LayerInfo lut = layer(e, "LookupTable", k), conv = layer(e, "QLinearConv", k);
      EXPECT_EQ(lut.kernel, kernels::isa_available(v.isa) ? v.name : "reference");
      if (kernels::isa_available(v.isa)) {
        EXPECT_EQ(lut.layout, conv.layout) << "conv on " << conv.kernel;
      }
    }
    EXPECT_TRUE(test::all_close(e.run({x})[0], expected, 0, 0));
  }
}

// x (s8) -> DQ -> Relu -> Add 0.5 -> Q (u8 when `u8_out`, else s8): an s8 leaf indexes the table by
// its byte. With `unfused` the Relu's result is a graph output too.
std::string s8_region(bool u8_out, bool unfused) {
  OnnxBuilder b;
  b.input("x", DType::kInt8, {2, 3, 5});
  b.initializer("xs", Tensor::scalar<float>(0.04f)).initializer("xz", Tensor::scalar<int8_t>(int8_t{-3}));
  b.initializer("half", Tensor::from_vector<float>({1, 1, 1}, {0.5f})).initializer("ys", Tensor::scalar<float>(0.025f));
  b.initializer("yz", u8_out ? Tensor::scalar<uint8_t>(uint8_t{7}) : Tensor::scalar<int8_t>(int8_t{-100}));
  b.node("DequantizeLinear", {"x", "xs", "xz"}, {"xf"}).node("Relu", {"xf"}, {"r"}).node("Add", {"r", "half"}, {"a"});
  b.node("QuantizeLinear", {"a", "ys", "yz"}, {"y"}).output("y", u8_out ? DType::kUint8 : DType::kInt8);
  if (unfused) b.output("r");
  return b.bytes();
}

TEST(QdqLut, SignedBytesInOrOut) {
  const Tensor x = bytes_input({2, 3, 5}, DType::kInt8);
  for (bool u8_out : {true, false}) {
    SCOPED_TRACE(u8_out ? "s8 -> u8" : "s8 -> s8");
    EXPECT_EQ(optimized_ops(s8_region(u8_out, false)), std::vector<std::string>{"LookupTable"});
    const Engine e = Engine::load_from_bytes(s8_region(u8_out, false));
    EXPECT_EQ(layer(e, "LookupTable").kernel.rfind("x8-lut-", 0), 0u) << layer(e, "LookupTable").kernel;
    const Tensor fused = e.run({x})[0];
    EXPECT_EQ(fused.dtype(), u8_out ? DType::kUint8 : DType::kInt8);
    EXPECT_TRUE(test::all_close(fused, run(s8_region(u8_out, true), reference_kernels(), x), 0, 0));
  }
}

// x (u8) -> DQ -> [Mul by a constant] -> Q -> y.
std::string requantize(float y_scale, uint8_t y_zero, const Tensor* factor = nullptr) {
  OnnxBuilder b;
  b.input("x", DType::kUint8, {1, 4, 3, 3});
  b.initializer("xs", Tensor::scalar<float>(0.1f)).initializer("xz", Tensor::scalar<uint8_t>(uint8_t{9}));
  b.initializer("ys", Tensor::scalar<float>(y_scale)).initializer("yz", Tensor::scalar<uint8_t>(y_zero));
  b.node("DequantizeLinear", {"x", "xs", "xz"}, {"xf"});
  std::string last = "xf";
  if (factor) {
    b.initializer("k", *factor).node("Mul", {"xf", "k"}, {"scaled"});
    last = "scaled";
  }
  b.node("QuantizeLinear", {last, "ys", "yz"}, {"y"}).output("y", DType::kUint8);
  return b.bytes();
}

TEST(QdqLut, RequantizationIsATable) {
  EXPECT_EQ(optimized_ops(requantize(0.07f, 30)), std::vector<std::string>{"LookupTable"});
  const Tensor x = bytes_input({1, 4, 3, 3});
  EXPECT_TRUE(test::all_close(run(requantize(0.07f, 30), CompileOptions{}, x), run(requantize(0.07f, 30), reference_kernels(), x), 0, 0));
}

// x -> DQ -> Q on x's own grid -> DQ -> MaxPool -> Q: the requantization gives x back, so the
// MaxPool reads x itself.
TEST(QdqLut, RequantizationToTheSameGridIsNone) {
  OnnxBuilder b;
  b.input("x", DType::kUint8, {1, 4, 3, 3});
  b.initializer("s", Tensor::scalar<float>(0.1f)).initializer("z", Tensor::scalar<uint8_t>(uint8_t{9}));
  b.node("DequantizeLinear", {"x", "s", "z"}, {"xf"}).node("QuantizeLinear", {"xf", "s", "z"}, {"x2"});
  b.node("DequantizeLinear", {"x2", "s", "z"}, {"x2f"}).node("MaxPool", {"x2f"}, {"p"}, {Attr::Ints("kernel_shape", {2, 2})});
  b.node("QuantizeLinear", {"p", "s", "z"}, {"y"}).output("y", DType::kUint8);
  EXPECT_EQ(optimized_ops(b.bytes()), std::vector<std::string>{"MaxPool"});
}

TEST(QdqLut, RegionWithALargerConstantIsLeftAlone) {
  const Tensor per_channel = Tensor::from_vector<float>({1, 4, 1, 1}, {0.5f, 1, 2, 3});
  const std::vector<std::string> ops = optimized_ops(requantize(0.07f, 30, &per_channel));
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "LookupTable"), 0);
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "Mul"), 1);
  const Tensor scalar = Tensor::scalar<float>(0.5f);
  EXPECT_EQ(optimized_ops(requantize(0.07f, 30, &scalar)), std::vector<std::string>{"LookupTable"});
}

// Two 8-bit values in: no single byte decides the result.
TEST(QdqLut, RegionOfTwoValuesIsLeftAlone) {
  OnnxBuilder b;
  b.input("a", DType::kUint8, {1, 4, 3, 3}).input("b", DType::kUint8, {1, 4, 1, 1});
  b.initializer("s", Tensor::scalar<float>(0.1f)).initializer("z", Tensor::scalar<uint8_t>(uint8_t{9}));
  b.node("DequantizeLinear", {"a", "s", "z"}, {"af"}).node("DequantizeLinear", {"b", "s", "z"}, {"bf"});
  b.node("Mul", {"af", "bf"}, {"m"}).node("QuantizeLinear", {"m", "s", "z"}, {"y"}).output("y", DType::kUint8);
  const std::vector<std::string> ops = optimized_ops(b.bytes());
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "LookupTable"), 0);
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "Mul"), 1);
}

}  // namespace
}  // namespace sparrow

namespace sparrow {
namespace {

// x (u8) -> DQ -> activation -> Q: the activations other YOLOv5 variants export.
std::string activation_region(const std::string& op, bool unfused) {
  OnnxBuilder b(14);  // HardSwish's opset
  b.input("x", DType::kUint8, {1, 4, 3, 3});
  b.initializer("xs", Tensor::scalar<float>(0.05f)).initializer("xz", Tensor::scalar<uint8_t>(uint8_t{120}));
  b.initializer("ys", Tensor::scalar<float>(0.03f)).initializer("yz", Tensor::scalar<uint8_t>(uint8_t{20}));
  b.node("DequantizeLinear", {"x", "xs", "xz"}, {"xf"});
  if (op == "Clip") {
    b.initializer("lo", Tensor::scalar<float>(0.0f)).initializer("hi", Tensor::scalar<float>(6.0f));
    b.node("Clip", {"xf", "lo", "hi"}, {"a"});
  } else {
    b.node(op, {"xf"}, {"a"});
  }
  b.node("QuantizeLinear", {"a", "ys", "yz"}, {"y"}).output("y", DType::kUint8);
  if (unfused) b.output("a");
  return b.bytes();
}

TEST(QdqLut, OtherYoloActivationsBecomeTables) {
  const Tensor x = bytes_input({1, 4, 3, 3});
  for (const std::string op : {"HardSwish", "LeakyRelu", "Clip", "HardSigmoid", "Tanh"}) {
    SCOPED_TRACE(op);
    EXPECT_EQ(optimized_ops(activation_region(op, false)), std::vector<std::string>{"LookupTable"});
    const Tensor fused = Engine::load_from_bytes(activation_region(op, false)).run({x})[0];
    EXPECT_TRUE(test::all_close(fused, run(activation_region(op, true), reference_kernels(), x), 0, 0));
  }
}

}  // namespace
}  // namespace sparrow
