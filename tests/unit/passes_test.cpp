// Each graph pass on small hand-built graphs: what it rewrites, and what it must leave alone.
#include <gtest/gtest.h>

#include "onnx/onnx_importer.h"
#include "passes/passes.h"
#include "sparrow/engine.h"
#include "support/onnx_builder.h"
#include "support/test_support.h"

namespace sparrow {
namespace {

using test::Attr;
using test::OnnxBuilder;

graph::Graph import(const OnnxBuilder& b) { return onnx_import::import_model(b.bytes(), ""); }

std::vector<std::string> ops_of(const graph::Graph& g) {
  std::vector<std::string> ops;
  for (const graph::Node& n : g.nodes) ops.push_back(n.op);
  return ops;
}

const graph::Node& only(const graph::Graph& g, const std::string& op) {
  for (const graph::Node& n : g.nodes) {
    if (n.op == op) return n;
  }
  throw std::runtime_error("no " + op);
}

OnnxBuilder conv_block(bool with_silu, bool with_residual) {
  OnnxBuilder b;
  b.input("x", DType::kFloat32, {1, 4, 8, 8});
  b.initializer("w", test::random_tensor({4, 4, 3, 3}, 1));
  b.node("Conv", {"x", "w"}, {"c"}, {Attr::Ints("pads", {1, 1, 1, 1})});
  std::string last = "c";
  if (with_silu) {
    b.node("Sigmoid", {"c"}, {"s"}).node("Mul", {"c", "s"}, {"a"});
    last = "a";
  }
  if (with_residual) {
    b.node("Add", {"x", last}, {"y"});
    last = "y";
  }
  b.output(last);
  return b;
}

TEST(Passes, FoldsShapeSubgraphOfDynamicExport) {
  // Reshape(x, Concat(Gather(Shape(x), 0), [-1])): a typical dynamic-batch pattern.
  OnnxBuilder b;
  b.input("x", DType::kFloat32, {-1, 3, 4, 4});
  b.initializer("zero", Tensor::from_vector<int64_t>({}, {0}));
  b.initializer("minus_one", Tensor::from_vector<int64_t>({1}, {-1}));
  b.initializer("axes", Tensor::from_vector<int64_t>({1}, {0}));
  b.node("Shape", {"x"}, {"shape"}).node("Gather", {"shape", "zero"}, {"n"});
  b.node("Unsqueeze", {"n", "axes"}, {"n1"}).node("Concat", {"n1", "minus_one"}, {"target"}, {Attr::Int("axis", 0)});
  b.node("Reshape", {"x", "target"}, {"y"}).output("y", DType::kFloat32, {-1, 48});
  graph::Graph g = import(b);
  CompileOptions o;
  o.batch_size = 5;
  passes::optimize(g, o);
  EXPECT_EQ(ops_of(g), std::vector<std::string>{"Reshape"});
  EXPECT_EQ(g.values[g.outputs[0]].shape, (Shape{5, 48}));
}

TEST(Passes, RewritesHardcodedBatchInReshape) {
  OnnxBuilder b;
  b.input("x", DType::kFloat32, {1, 6, 2, 2});
  b.initializer("target", Tensor::from_vector<int64_t>({3}, {1, -1, 3}));
  b.node("Reshape", {"x", "target"}, {"y"}).output("y");
  graph::Graph g = import(b);
  CompileOptions o;
  o.batch_size = 4;
  passes::optimize(g, o);
  EXPECT_EQ(g.values[g.outputs[0]].shape, (Shape{4, 8, 3}));
}

TEST(Passes, KeepsBatchIndependentReshape) {
  // A Reshape to a fixed total (no batch in front) must not be touched.
  OnnxBuilder b;
  b.input("x", DType::kFloat32, {1, 6});
  b.initializer("target", Tensor::from_vector<int64_t>({2}, {2, 3}));
  b.node("Reshape", {"x", "target"}, {"y"}).output("y");
  graph::Graph g = import(b);
  passes::optimize(g, {});
  EXPECT_EQ(g.values[g.outputs[0]].shape, (Shape{2, 3}));
}

TEST(Passes, FusesSigmoidMulIntoSilu) {
  graph::Graph g = import(conv_block(true, false));
  passes::infer_and_fold(g, {});
  passes::fuse_silu(g);
  EXPECT_EQ(ops_of(g), (std::vector<std::string>{"Conv", "Silu"}));
}

TEST(Passes, SiluNotFusedWhenSigmoidHasOtherUsers) {
  OnnxBuilder b;
  b.input("x", DType::kFloat32, {1, 4});
  b.node("Sigmoid", {"x"}, {"s"}).node("Mul", {"x", "s"}, {"m"}).node("Add", {"m", "s"}, {"y"}).output("y");
  graph::Graph g = import(b);
  passes::infer_and_fold(g, {});
  passes::fuse_silu(g);
  EXPECT_EQ(ops_of(g), (std::vector<std::string>{"Sigmoid", "Mul", "Add"}));
}

TEST(Passes, FusesConvActivationAndResidual) {
  graph::Graph g = import(conv_block(true, true));
  passes::optimize(g, {});
  ASSERT_EQ(ops_of(g), std::vector<std::string>{"Conv"});
  const graph::Node& conv = only(g, "Conv");
  EXPECT_EQ(conv.attrs.get_string(ops::kActivationAttr, ""), "silu");
  EXPECT_EQ(conv.attrs.get_int(ops::kResidualAttr, 0), 1);
  ASSERT_EQ(conv.inputs.size(), 4u);
  EXPECT_EQ(g.values[conv.inputs[3]].name, "x");
  EXPECT_EQ(conv.outputs[0], g.outputs[0]);
}

// YOLOv5's Detect: Conv -> Reshape -> Transpose -> Sigmoid. `expose`: the Reshape's output is
// also a graph output, so the sigmoid must stay where it is.
OnnxBuilder detect_tail(bool expose) {
  OnnxBuilder b;
  b.input("x", DType::kFloat32, {1, 4, 5, 6});
  b.initializer("w", test::random_tensor({14, 4, 1, 1}, 2));
  b.initializer("shape", Tensor::from_vector<int64_t>({5}, {1, 2, 7, 5, 6}));
  b.node("Conv", {"x", "w"}, {"c"}).node("Reshape", {"c", "shape"}, {"r"});
  b.node("Transpose", {"r"}, {"t"}, {Attr::Ints("perm", {0, 1, 3, 4, 2})}).node("Sigmoid", {"t"}, {"y"}).output("y");
  if (expose) b.output("r");
  return b;
}

TEST(Passes, ActivationAfterDataMovementMovesIntoTheConv) {
  graph::Graph g = import(detect_tail(false));
  passes::optimize(g, {});
  ASSERT_EQ(ops_of(g), (std::vector<std::string>{"Conv", "Reshape", "Transpose"}));
  EXPECT_EQ(only(g, "Conv").attrs.get_string(ops::kActivationAttr, ""), "sigmoid");
  EXPECT_EQ(g.values[only(g, "Conv").outputs[0]].shape, (Shape{1, 14, 5, 6}));
  EXPECT_EQ(g.values[g.outputs[0]].shape, (Shape{1, 2, 5, 6, 7}));
  // Same numbers as the unmoved graph.
  const Tensor x = test::random_tensor({1, 4, 5, 6}, 3);
  const Tensor moved = Engine::load_from_bytes(detect_tail(false).bytes()).run({x})[0];
  const Tensor kept = Engine::load_from_bytes(detect_tail(true).bytes()).run({x})[0];
  EXPECT_TRUE(test::all_close(moved, kept, 1e-6, 1e-6));
}

TEST(Passes, ActivationStaysWhenTheMovedValueIsReadElsewhere) {
  graph::Graph g = import(detect_tail(true));
  passes::optimize(g, {});
  EXPECT_EQ(ops_of(g), (std::vector<std::string>{"Conv", "Reshape", "Transpose", "Sigmoid"}));
}

TEST(Passes, ResidualNotFusedWhenConvOutputIsAlsoUsedElsewhere) {
  OnnxBuilder c;
  c.input("x", DType::kFloat32, {1, 4, 8, 8});
  c.initializer("w", test::random_tensor({4, 4, 3, 3}, 1));
  c.node("Conv", {"x", "w"}, {"c"}, {Attr::Ints("pads", {1, 1, 1, 1})});
  c.node("Add", {"x", "c"}, {"y"}).node("Relu", {"c"}, {"z"}).output("y").output("z");
  graph::Graph g = import(c);
  passes::optimize(g, {});
  EXPECT_FALSE(only(g, "Conv").attrs.has(ops::kResidualAttr));
  EXPECT_EQ(ops_of(g).size(), 3u);
}

TEST(Passes, ResidualNotFusedAcrossBroadcast) {
  OnnxBuilder b;
  b.input("x", DType::kFloat32, {1, 4, 8, 8});
  b.initializer("w", test::random_tensor({4, 4, 1, 1}, 1));
  b.initializer("bias", test::random_tensor({1, 4, 1, 1}, 2));
  b.node("Conv", {"x", "w"}, {"c"}).node("Add", {"c", "bias"}, {"y"}).output("y");
  graph::Graph g = import(b);
  passes::optimize(g, {});
  EXPECT_EQ(ops_of(g), (std::vector<std::string>{"Conv", "Add"}));
}

// A QDQ residual block on u8: DequantizeLinear -> Conv -> QuantizeLinear, then the conv's input
// plus its dequantized result (`conv_first`: as the Add's first operand), quantized. `expose`:
// the conv's quantized result is also a graph output.
OnnxBuilder qdq_residual_block(bool conv_first, bool expose) {
  OnnxBuilder b;
  b.input("x", DType::kUint8, {1, 4, 8, 8});
  b.initializer("s", Tensor::scalar<float>(0.05f)).initializer("z", Tensor::scalar<uint8_t>(uint8_t{10}));
  Tensor w(DType::kInt8, {4, 4, 3, 3});
  for (int64_t i = 0; i < w.size(); ++i) w.data_as<int8_t>()[i] = static_cast<int8_t>(i % 7 - 3);
  b.initializer("w", w).initializer("ws", Tensor::scalar<float>(0.01f)).initializer("wz", Tensor::scalar<int8_t>(int8_t{0}));
  b.node("DequantizeLinear", {"x", "s", "z"}, {"xf"}).node("DequantizeLinear", {"w", "ws", "wz"}, {"wf"});
  b.node("Conv", {"xf", "wf"}, {"c"}, {Attr::Ints("pads", {1, 1, 1, 1})});
  b.node("QuantizeLinear", {"c", "s", "z"}, {"cq"}).node("DequantizeLinear", {"cq", "s", "z"}, {"cf"});
  b.node("Add", conv_first ? std::vector<std::string>{"cf", "xf"} : std::vector<std::string>{"xf", "cf"}, {"sum"});
  b.node("QuantizeLinear", {"sum", "s", "z"}, {"y"}).output("y", DType::kUint8);
  if (expose) b.output("cq", DType::kUint8);
  return b;
}

TEST(Passes, FusesQuantizedResidualAddIntoTheQLinearConv) {
  for (bool conv_first : {false, true}) {
    SCOPED_TRACE(conv_first ? "conv first" : "conv second");
    graph::Graph g = import(qdq_residual_block(conv_first, false));
    passes::optimize(g, {});
    ASSERT_EQ(ops_of(g), std::vector<std::string>{"QLinearConv"});
    const graph::Node& conv = only(g, "QLinearConv");
    EXPECT_EQ(conv.attrs.get_int(ops::kAddAttr, 0), 1);
    ASSERT_EQ(conv.inputs.size(), static_cast<size_t>(ops::kAddInput + 8));
    // The residual in its operand's slot, the conv's own result's slot empty.
    const int residual = ops::kAddInput + (conv_first ? 3 : 0), own = ops::kAddInput + (conv_first ? 0 : 3);
    EXPECT_EQ(g.values[conv.inputs[static_cast<size_t>(residual)]].name, "x");
    EXPECT_FALSE(conv.has_input(static_cast<size_t>(own)));
    EXPECT_EQ(conv.outputs[0], g.outputs[0]);
  }
}

TEST(Passes, QuantizedResidualNotFusedWhenTheConvResultIsAlsoRead) {
  graph::Graph g = import(qdq_residual_block(false, true));
  passes::optimize(g, {});
  EXPECT_EQ(ops_of(g), (std::vector<std::string>{"QLinearConv", "QLinearAdd"}));
  EXPECT_FALSE(only(g, "QLinearConv").attrs.has(ops::kAddAttr));
}

TEST(Passes, RemovesDeadNodesAndIdentities) {
  OnnxBuilder b;
  b.input("x", DType::kFloat32, {2, 2});
  b.node("Identity", {"x"}, {"i"}).node("Relu", {"i"}, {"y"}).node("Sigmoid", {"x"}, {"unused"}).output("y");
  graph::Graph g = import(b);
  passes::optimize(g, {});
  ASSERT_EQ(ops_of(g), std::vector<std::string>{"Relu"});
  EXPECT_EQ(g.values[g.nodes[0].inputs[0]].name, "x");
}

// x (u8) is dequantized first in the file but read (as float) only after two other nodes: the
// DequantizeLinear moves to just before its reader, the rest keep their order. A dequantized
// weight (constant) is folded, not moved.
TEST(Passes, DequantizationMovesToJustBeforeItsFirstReader) {
  OnnxBuilder b(13);
  b.input("x", DType::kUint8, {1, 4}).input("z", DType::kFloat32, {1, 4});
  b.initializer("s", Tensor::scalar<float>(0.5f)).initializer("zp", Tensor::scalar<uint8_t>(uint8_t{3}));
  b.node("DequantizeLinear", {"x", "s", "zp"}, {"xf"}, {}, "dq");
  b.node("Relu", {"z"}, {"r"}, {}, "relu").node("Sigmoid", {"r"}, {"g"}, {}, "sigmoid");
  b.node("Add", {"g", "xf"}, {"y"}, {}, "add").output("y");
  graph::Graph g = import(b);
  passes::optimize(g, {});
  EXPECT_EQ(ops_of(g), (std::vector<std::string>{"Relu", "Sigmoid", "DequantizeLinear", "Add"}));
  EXPECT_EQ(g.values[g.nodes[3].inputs[1]].producer, 2) << "producers renumbered";
  const Tensor out = Engine::load_from_bytes(b.bytes()).run({Tensor::from_vector<uint8_t>({1, 4}, {3, 5, 0, 255}),
                                                               Tensor::from_vector<float>({1, 4}, {0, -1, 1, 0})})[0];
  // sigmoid(relu(z)) + (x - 3) / 2
  const std::vector<float> expected = {0.5f, 1.5f, 0.7310586f - 1.5f, 0.5f + 126.0f}, got = test::values_of<float>(out);
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(got[i], expected[i], 1e-5f) << i;
}

TEST(Passes, IdentityProducingGraphOutputIsKept) {
  OnnxBuilder b;
  b.input("x", DType::kFloat32, {2, 2});
  b.node("Identity", {"x"}, {"y"}).output("y");
  graph::Graph g = import(b);
  passes::optimize(g, {});
  EXPECT_EQ(ops_of(g), std::vector<std::string>{"Identity"});
}

TEST(Passes, FoldsConstantArithmetic) {
  OnnxBuilder b;
  b.input("x", DType::kFloat32, {3});
  b.initializer("a", Tensor::from_vector<float>({3}, {1, 2, 3}));
  b.initializer("b", Tensor::from_vector<float>({3}, {10, 20, 30}));
  b.node("Mul", {"a", "b"}, {"ab"}).node("Add", {"x", "ab"}, {"y"}).output("y");
  graph::Graph g = import(b);
  passes::optimize(g, {});
  ASSERT_EQ(ops_of(g), std::vector<std::string>{"Add"});
  const graph::Value& folded = g.values[g.nodes[0].inputs[1]];
  ASSERT_TRUE(folded.constant.has_value());
  EXPECT_EQ(folded.constant->data_as<float>()[2], 90.0f);
}

}  // namespace
}  // namespace sparrow
