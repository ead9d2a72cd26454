// The kernel table and the filter that forces rows: names, lookup, bad filters, and the policy
// that times every candidate.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "kernels/f32_spconv.h"
#include "kernels/kernel_filter.h"
#include "kernels/kernel_table.h"
#include "kernels/x8_lut.h"
#include "ops/op_registry.h"
#include "sparrow/engine.h"
#include "support/onnx_builder.h"
#include "support/test_support.h"

namespace sparrow {
namespace {

using kernels::glob_match;
using kernels::KernelFilter;
using test::Attr;
using test::OnnxBuilder;

TEST(KernelTable, RowNamesAreUniqueAndSayDtypeOpAndImplementation) {
  // Sparse kernels lead with "sparse" (the names, and what describe() counts), then op and dtype.
  const std::regex form("((f32|qu8|qs8|u8|s8|x8|x)-[a-z0-9]+|sparse-conv-(f32|u8s8))(-[a-z0-9]+)+");
  std::set<std::string> seen;
  for (const kernels::KernelRow& row : kernels::kernel_table()) {
    EXPECT_TRUE(std::regex_match(row.name, form)) << row.name;
    EXPECT_TRUE(seen.insert(row.name).second) << row.name << " twice";
    EXPECT_NE(ops::find_op(row.op), nullptr) << row.name << " implements unknown op " << row.op;
    EXPECT_NE(row.select, nullptr) << row.name;
  }
}

// One LookupTable row per x8-lut microkernel, named as the variant and needing its ISA.
TEST(KernelTable, LookupTableRowsAreTheX8LutVariants) {
  std::vector<std::pair<std::string, kernels::Isa>> rows, variants;
  for (const kernels::KernelRow& row : kernels::kernel_table()) {
    if (row.op == "LookupTable") rows.emplace_back(row.name, row.isa);
  }
  for (const kernels::X8LutVariant& v : kernels::x8_lut_variants()) variants.emplace_back(v.name, v.isa);
  EXPECT_EQ(rows, variants);
}

// One Conv row per f32-spconv variant, named as the variant and needing its ISA, all before the
// dense oneDNN row (each declines weights too dense to pay off).
TEST(KernelTable, SparseConvF32RowsAreTheVariantsBeforeTheDenseRow) {
  std::vector<std::pair<std::string, kernels::Isa>> rows, variants;
  bool dense_seen = false;
  for (const kernels::KernelRow& row : kernels::kernel_table()) {
    if (row.op != "Conv") continue;
    if (row.name == "f32-conv-onednn") dense_seen = true;
    if (row.name.rfind("sparse-conv-f32-", 0) != 0) continue;
    rows.emplace_back(row.name, row.isa);
    EXPECT_FALSE(dense_seen) << row.name << " comes after f32-conv-onednn";
  }
  for (const kernels::F32SpconvVariant& v : kernels::f32_spconv_variants()) variants.emplace_back(v.name, v.isa);
  EXPECT_EQ(rows, variants);
}

TEST(KernelFilter, GlobMatch) {
  EXPECT_TRUE(glob_match("f32-conv-onednn", "f32-conv-onednn"));
  EXPECT_TRUE(glob_match("*", "anything"));
  EXPECT_TRUE(glob_match("f32-*", "f32-conv-onednn"));
  EXPECT_TRUE(glob_match("*-onednn", "x-concat-onednn"));
  EXPECT_TRUE(glob_match("*conv*", "f32-deconv-onednn"));
  EXPECT_TRUE(glob_match("a*b*c", "aXbYbZc"));
  EXPECT_FALSE(glob_match("f32-conv", "f32-conv-onednn"));
  EXPECT_FALSE(glob_match("*-memcpy", "x-concat-onednn"));
  EXPECT_FALSE(glob_match("a*b*c", "aXbYc-"));
}

TEST(KernelFilter, DenyWinsAndAllowRestricts) {
  const std::vector<std::string> known = {"f32-conv-onednn", "x-concat-memcpy", "x-concat-onednn"};
  const KernelFilter all = KernelFilter::parse("", known, "test");
  for (const std::string& k : known) EXPECT_TRUE(all.allows(k));
  const KernelFilter deny = KernelFilter::parse("-x-concat-memcpy", known, "test");
  EXPECT_FALSE(deny.allows("x-concat-memcpy"));
  EXPECT_TRUE(deny.allows("x-concat-onednn"));
  const KernelFilter allow = KernelFilter::parse("x-concat-*,-*-memcpy", known, "test");
  EXPECT_TRUE(allow.allows("x-concat-onednn"));
  EXPECT_FALSE(allow.allows("x-concat-memcpy"));
  EXPECT_FALSE(allow.allows("f32-conv-onednn"));
}

std::string concat_model() {
  OnnxBuilder b;
  b.input("a", DType::kFloat32, {2, 3, 4}).input("b", DType::kFloat32, {2, 5, 4});
  b.node("Concat", {"a", "b"}, {"y"}, {Attr::Int("axis", 1)}).output("y");
  return b.bytes();
}

TEST(KernelFilter, BadSpecsAreRefusedByName) {
  CompileOptions o;
  o.kernels = "f32-cnov-*";
  test::expect_error([&] { Engine::load_from_bytes(concat_model(), o); }, ErrorCode::kInvalidArgument,
                     {"CompileOptions::kernels", "'f32-cnov-*' matches no kernel"});
  o.kernels = "x-concat-memcpy,,f32-*";
  test::expect_error([&] { Engine::load_from_bytes(concat_model(), o); }, ErrorCode::kInvalidArgument,
                     {"empty kernel pattern"});
  o.kernels = "-";
  test::expect_error([&] { Engine::load_from_bytes(concat_model(), o); }, ErrorCode::kInvalidArgument,
                     {"empty kernel pattern"});
}

std::string concat_kernel(const CompileOptions& o) {
  for (const LayerInfo& l : Engine::load_from_bytes(concat_model(), o).describe().layers) {
    if (l.op == "Concat") return l.kernel;
  }
  return "";
}

TEST(KernelFilter, ForcesOneRowAtATime) {
  CompileOptions o;
  EXPECT_EQ(concat_kernel(o), "x-concat-memcpy");  // the first row that accepts
  o.kernels = "x-concat-onednn";
  EXPECT_EQ(concat_kernel(o).rfind("x-concat-onednn:", 0), 0u) << concat_kernel(o);
  o.kernels = "-x-concat-*";
  EXPECT_EQ(concat_kernel(o), "reference");
}

TEST(KernelPolicy, FastestPicksOneOfTheAcceptingRowsAndComputesTheSame) {
  CompileOptions o;
  o.kernel_policy = KernelPolicy::kFastest;
  const Engine fastest = Engine::load_from_bytes(concat_model(), o);
  const std::string kernel = concat_kernel(o);
  EXPECT_TRUE(kernel == "x-concat-memcpy" || kernel.rfind("x-concat-onednn:", 0) == 0) << kernel;
  CompileOptions slow;
  slow.optimized_kernels = false;
  const std::vector<Tensor> in = {test::random_tensor({2, 3, 4}, 1), test::random_tensor({2, 5, 4}, 2)};
  EXPECT_TRUE(test::all_close(fastest.run(in)[0], Engine::load_from_bytes(concat_model(), slow).run(in)[0], 0, 0));
}

}  // namespace
}  // namespace sparrow

namespace sparrow {
namespace {

// A conv whose weights are half zeros, then a Relu.
std::string half_sparse_conv() {
  Tensor w = test::random_sparse_tensor({8, 4, 3, 3}, 3, 0.5);
  OnnxBuilder b;
  b.input("x", DType::kFloat32, {1, 4, 8, 8}).initializer("w", w);
  b.node("Conv", {"x", "w"}, {"c"}, {Attr::Ints("pads", {1, 1, 1, 1})}, "conv");
  b.node("Relu", {"c"}, {"y"}, {}, "relu").output("y");
  b.output("c");  // keeps the Relu its own layer
  return b.bytes();
}

// 6 input channels make blocks of 4 and 2. Output channel 0 zeroes channels 0-3 at every tap,
// channel 1 channels 4-5 at tap 0 and channel 0 at tap 1; the rest are non-zero. Of the 2 * 2 * 2
// = 8 blocks (oc, tap, block), 3 are all zero.
TEST(LayerInfo, BlockSparsityCountsAllZeroBlocksOfFourInputChannels) {
  Tensor w(DType::kFloat32, {2, 6, 1, 2});
  for (int64_t i = 0; i < w.size(); ++i) w.data_as<float>()[i] = 1.0f;
  const auto zero = [&](int64_t o, int64_t c, int64_t t) { w.data_as<float>()[(o * 6 + c) * 2 + t] = 0.0f; };
  for (int64_t c = 0; c < 4; ++c) zero(0, c, 0), zero(0, c, 1);
  zero(1, 4, 0), zero(1, 5, 0), zero(1, 0, 1);
  OnnxBuilder b;
  b.input("x", DType::kFloat32, {1, 6, 4, 4}).initializer("w", w);
  b.node("Conv", {"x", "w"}, {"y"}, {}, "conv").output("y");
  const PlanDescription d = Engine::load_from_bytes(b.bytes()).describe();
  const auto conv = std::find_if(d.layers.begin(), d.layers.end(), [](const LayerInfo& l) { return l.op == "Conv"; });
  ASSERT_NE(conv, d.layers.end());
  EXPECT_DOUBLE_EQ(conv->sparsity, 11.0 / 24.0);
  EXPECT_DOUBLE_EQ(conv->block_sparsity, 3.0 / 8.0);
}

TEST(LayerInfo, SaysTheDtypeAndTheSparsityOfEachLayer) {
  for (bool optimized : {true, false}) {
    CompileOptions o;
    o.optimized_kernels = optimized;
    const PlanDescription d = Engine::load_from_bytes(half_sparse_conv(), o).describe();
    const auto conv = std::find_if(d.layers.begin(), d.layers.end(), [](const LayerInfo& l) { return l.op == "Conv"; });
    const auto relu = std::find_if(d.layers.begin(), d.layers.end(), [](const LayerInfo& l) { return l.op == "Relu"; });
    ASSERT_NE(conv, d.layers.end());
    ASSERT_NE(relu, d.layers.end());
    EXPECT_EQ(conv->dtype, "f32") << conv->kernel;
    EXPECT_NEAR(conv->sparsity, 0.5, 0.05) << conv->kernel;
    EXPECT_LT(conv->block_sparsity, 0.2) << "scattered zeros rarely fill a block of 4";
    EXPECT_EQ(relu->sparsity, 0.0);
    const LayerCounts c = count_layers(d);
    EXPECT_EQ(c.total, static_cast<int>(d.layers.size()));
    EXPECT_EQ(c.int8, 0);
    EXPECT_EQ(c.reference > 0, !optimized);
    EXPECT_EQ(c.dense + c.reference, c.total);
    const std::string warning = reference_layers_warning(d);
    if (optimized) {
      EXPECT_EQ(warning, "");
    } else {
      EXPECT_NE(warning.find(std::to_string(c.reference) + " of " + std::to_string(c.total) + " layers run on the reference kernels"),
                std::string::npos) << warning;
      EXPECT_NE(warning.find(conv->name), std::string::npos) << warning;
    }
  }
}

}  // namespace
}  // namespace sparrow
