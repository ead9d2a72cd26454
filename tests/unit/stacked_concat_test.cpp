// A Concat whose parts are contiguous slices of its output (x-concat-memcpy's stacks_inputs)
// has its parts' producers write straight into those slices, and runs no step of its own
// (runtime/compiler.cpp, place_stacked_inputs), where that is safe: each part a whole buffer of
// its own that nothing reads after the Concat. The results equal the reference kernels', which
// copy.
#include <gtest/gtest.h>

#include <string>

#include "sparrow/engine.h"
#include "support/onnx_builder.h"
#include "support/test_support.h"

namespace sparrow {
namespace {

using test::Attr;
using test::OnnxBuilder;

// x [n, 8, 4] -> Sigmoid of rows 0-2, Relu of rows 3-7 (by a Split) and, via a Reshape view, a
// Tanh of all of x as [n, 2, 16] -> [n, 8, 4]; the three joined along axis 1. `read_after`: a
// node after the Concat reads the Relu's result too; `twice`: the Concat takes the Sigmoid's
// result twice.
struct Variant {
  int64_t batch = 1;
  bool read_after = false;
  bool twice = false;
};

std::string parts_model(const Variant& v) {
  OnnxBuilder b;
  b.input("x", DType::kFloat32, {v.batch, 8, 4}).output("y");
  b.initializer("split", Tensor::from_vector<int64_t>({2}, {3, 5}));
  b.initializer("flat", Tensor::from_vector<int64_t>({3}, {v.batch, 2, 16}));
  b.initializer("back", Tensor::from_vector<int64_t>({3}, {v.batch, 8, 4}));
  b.node("Split", {"x", "split"}, {"p", "q"}, {Attr::Int("axis", 1)});
  b.node("Sigmoid", {"p"}, {"s"}).node("Relu", {"q"}, {"r"});
  b.node("Reshape", {"x", "flat"}, {"xf"}).node("Tanh", {"xf"}, {"t"}).node("Reshape", {"t", "back"}, {"tb"});
  std::vector<std::string> parts = {"s", "r", "tb"};
  if (v.twice) parts.push_back("s");
  b.node("Concat", parts, {"y"}, {Attr::Int("axis", 1)});
  if (v.read_after) b.node("Sigmoid", {"r"}, {"rn"}).output("rn");
  return b.bytes();
}

bool has_concat(const Engine& e) {
  for (const LayerInfo& l : e.describe().layers) {
    if (l.op == "Concat") return true;
  }
  return false;
}

void expect_reference_result(const std::string& model, int64_t batch) {
  CompileOptions reference;
  reference.optimized_kernels = false;
  const Tensor x = test::random_tensor({batch, 8, 4}, 3, -3, 3);
  const Tensor y = Engine::load_from_bytes(model).run({x})[0];
  EXPECT_TRUE(test::all_close(y, Engine::load_from_bytes(model, reference).run({x})[0], 1e-6, 1e-6));
}

TEST(StackedConcat, PartsAreWrittenInPlace) {
  const std::string model = parts_model({});
  EXPECT_FALSE(has_concat(Engine::load_from_bytes(model)));
  expect_reference_result(model, 1);
}

// Batch 2 interleaves the parts (rows of image 0, then of image 1): the Concat copies.
TEST(StackedConcat, InterleavedPartsAreCopied) {
  const std::string model = parts_model({2});
  EXPECT_TRUE(has_concat(Engine::load_from_bytes(model)));
  expect_reference_result(model, 2);
}

TEST(StackedConcat, APartReadElsewhereOrTwiceIsCopied) {
  for (const Variant& v : {Variant{1, true, false}, Variant{1, false, true}}) {
    SCOPED_TRACE(v.read_after ? "read after" : "twice");
    const std::string model = parts_model(v);
    EXPECT_TRUE(has_concat(Engine::load_from_bytes(model)));
    expect_reference_result(model, 1);
  }
}

}  // namespace
}  // namespace sparrow
