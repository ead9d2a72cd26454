// fuse_conv_segmented and its kernel: a 1x1 conv whose output only a SegmentedElementwise reads
// (YOLOv5's Detect convs and their decode) becomes one ConvSegmented, run band by band of pixel
// rows, that computes what the two nodes computed; convs it cannot run by bands are left alone.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <random>

#include "onnx/onnx_importer.h"
#include "passes/passes.h"
#include "sparrow/engine.h"
#include "support/detect_head.h"
#include "support/onnx_builder.h"
#include "support/test_support.h"

namespace sparrow {
namespace {

using test::Attr;
using test::Head;
using test::head_input;
using test::head_model;
using test::OnnxBuilder;

std::vector<std::string> ops_after_passes(const Head& c) {
  graph::Graph g = onnx_import::import_model(head_model(c).bytes(), "");
  passes::optimize(g, CompileOptions{});
  std::vector<std::string> ops;
  for (const graph::Node& n : g.nodes) ops.push_back(n.op);
  return ops;
}

TEST(ConvSegmented, DetectConvAndDecodeBecomeOneNode) {
  for (bool int8 : {false, true}) {
    Head c;
    c.int8 = int8;
    const std::vector<std::string> ops = ops_after_passes(c);
    EXPECT_EQ(std::count(ops.begin(), ops.end(), "ConvSegmented"), 1) << int8;
    EXPECT_EQ(std::count(ops.begin(), ops.end(), "SegmentedElementwise"), 0) << int8;
    EXPECT_EQ(std::count(ops.begin(), ops.end(), "Reshape"), 0) << int8;
  }
}

TEST(ConvSegmented, ConvsThatBandsCannotTakeAreLeftAlone) {
  Head wide;
  wide.kernel = 3;
  Head shared;
  shared.conv_read_twice = true;
  for (const Head& c : {wide, shared}) {
    const std::vector<std::string> ops = ops_after_passes(c);
    EXPECT_EQ(std::count(ops.begin(), ops.end(), "ConvSegmented"), 0);
    EXPECT_EQ(std::count(ops.begin(), ops.end(), "SegmentedElementwise"), 1);
  }
}

// Against the reference kernels, and against the same graph left unfused (the conv's output also
// a graph output) on the optimised kernels: odd sizes, several images, bands over two threads.
TEST(ConvSegmented, ComputesWhatTheConvAndTheDecodeDo) {
  const std::vector<Head> cases = {{1, 8, 4, 5, 3}, {2, 13, 7, 3, 80}, {3, 4, 1, 1, 1}, {2, 16, 40, 24, 2}, {1, 32, 80, 80, 80}};
  for (bool int8 : {false, true}) {
    for (Head c : cases) {
      c.int8 = int8;
      SCOPED_TRACE((int8 ? "int8 " : "f32 ") + std::to_string(c.batch) + "x" + std::to_string(c.channels) + "x" +
                   std::to_string(c.h) + "x" + std::to_string(c.w) + " classes " + std::to_string(c.classes));
      const Tensor x = head_input(c);
      CompileOptions two;
      two.num_cores = 2;
      const Engine engine = Engine::load_from_bytes(head_model(c).bytes(), two);
      std::string kernel;
      for (const LayerInfo& layer : engine.describe().layers) {
        if (layer.op.find("SegmentedElementwise") != std::string::npos) kernel = layer.kernel;
      }
      // Under every ISA cap (the bands are forced channels-last). oneDNN's int8 conv takes these
      // +-127 weights only with VNNI; under the caps without it (avx2, avx512, scalar) the bands
      // run its float conv on the widened input instead, where the unfused graph falls back to
      // the reference.
      EXPECT_EQ(kernel.rfind(int8 ? "qu8-f32-conv-segmented-onednn:" : "f32-conv-segmented-onednn:", 0), 0u) << kernel;
      const char* isa = std::getenv("SPARROW_ISA");
      const bool widened = int8 && isa != nullptr && *isa != '\0' && std::string(isa) != "avxvnni";
      EXPECT_EQ(kernel.find(" on widened u8") != std::string::npos, widened) << kernel;
      const Tensor y = engine.run({x})[0];
      CompileOptions reference;
      reference.optimized_kernels = false;
      EXPECT_TRUE(test::all_close(y, Engine::load_from_bytes(head_model(c).bytes(), reference).run({x})[0], 1e-5, 1e-5));
      Head unfused = c;
      unfused.conv_read_twice = true;
      // Uncapped, fused and unfused run one oneDNN implementation; under a cap the bands' forced
      // NHWC may pick another than the unfused conv's blocked layout (avx2: jit_1x1 against jit),
      // which sums in another order: then the reference's bound.
      const double tolerance = std::getenv("SPARROW_ISA") ? 1e-5 : 1e-6;
      EXPECT_TRUE(test::all_close(y, Engine::load_from_bytes(head_model(unfused).bytes(), two).run({x})[0], tolerance, tolerance));
    }
  }
}

// The fused op is Sparrow's own: a file that names it is refused before any of its attributes
// are read.
TEST(ConvSegmented, FilesCannotNameTheFusedOp) {
  OnnxBuilder b(13);
  b.input("x", DType::kFloat32, {1, 4, 2, 2}).initializer("w", test::random_tensor({6, 4, 1, 1}, 1));
  b.node("ConvSegmented", {"x", "w"}, {"y"}).output("y", DType::kFloat32, {1, 6, 2, 2});
  test::expect_error([&] { Engine::load_from_bytes(b.bytes()); }, ErrorCode::kInvalidModel, {"No Op registered for ConvSegmented"});
}

}  // namespace
}  // namespace sparrow
