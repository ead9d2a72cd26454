// Pruning: magnitude pruning of one weight tensor, and sparrow::compression::compress with
// --sparsity on a small YOLO-shaped model (alone and with --int8), its file and its errors.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "compression/magnitude_pruning.h"
#include "onnx/tensor_proto.h"
#include "sparrow/compression/compress.h"
#include "sparrow/engine.h"
#include "support/onnx_builder.h"
#include "support/test_support.h"

namespace sparrow {
namespace {

namespace fs = std::filesystem;
using test::Attr;
using test::OnnxBuilder;

const Shape kInput = {1, 3, 16, 16};

std::string model_file() {
  const std::string path = test::temp_path("prune_model.onnx");
  test::write_file(path, test::small_pruning_model());
  return path;
}


template <typename T>
int64_t zeros(const Tensor& t) {
  return std::count(t.data_as<T>(), t.data_as<T>() + t.size(), T(0));
}

compression::CompressOptions prune_options(double sparsity, int block, std::vector<std::string> exclude = {}) {
  compression::CompressOptions o;
  o.prune = compression::PruneOptions{};
  o.prune->sparsity = sparsity;
  o.prune->block = block;
  o.prune->exclude = std::move(exclude);
  return o;
}

std::vector<std::string> calibration_images(int n) { return test::random_images("prune_calibration", n); }

TEST(MagnitudePruning, UnstructuredZeroesExactlyTheTargetAndTheSmallestWeights) {
  const Tensor original = test::random_tensor({16, 10, 3, 3}, 4);
  Tensor w = original.clone();
  compression::prune_by_magnitude(w.data_as<float>(), w.shape(), 0.37, 1);
  EXPECT_EQ(zeros<float>(w), std::llround(0.37 * 1440));
  float largest_pruned = 0, smallest_kept = std::numeric_limits<float>::max();
  for (int64_t i = 0; i < w.size(); ++i) {
    const float magnitude = std::fabs(original.data_as<float>()[i]);
    if (w.data_as<float>()[i] == 0) {
      largest_pruned = std::max(largest_pruned, magnitude);
    } else {
      EXPECT_EQ(w.data_as<float>()[i], original.data_as<float>()[i]);
      smallest_kept = std::min(smallest_kept, magnitude);
    }
  }
  EXPECT_LE(largest_pruned, smallest_kept);
}

// 10 input channels make blocks of 4, 4 and 2 at each (output channel, kernel position).
TEST(MagnitudePruning, BlocksOfFourAreWholeInputChannelRunsRankedByTheirNorm) {
  const Tensor original = test::random_tensor({6, 10, 3, 3}, 8);
  Tensor w = original.clone();
  compression::prune_by_magnitude(w.data_as<float>(), w.shape(), 0.6, 4);
  const int64_t target = std::llround(0.6 * 540);
  EXPECT_GE(zeros<float>(w), target);
  EXPECT_LT(zeros<float>(w), target + 4);
  double largest_pruned = 0, smallest_kept = 1e30;
  for (int64_t o = 0; o < 6; ++o) {
    for (int64_t k = 0; k < 9; ++k) {
      for (int64_t i0 = 0; i0 < 10; i0 += 4) {
        int64_t zeroed = 0, length = std::min<int64_t>(4, 10 - i0);
        double norm = 0;
        for (int64_t i = i0; i < i0 + length; ++i) {
          const int64_t at = (o * 10 + i) * 9 + k;
          zeroed += w.data_as<float>()[at] == 0;
          norm += std::pow(original.data_as<float>()[at], 2);
        }
        ASSERT_TRUE(zeroed == 0 || zeroed == length) << "block (" << o << ", " << i0 << ", " << k << ") is cut";
        (zeroed ? largest_pruned : smallest_kept) = zeroed ? std::max(largest_pruned, norm) : std::min(smallest_kept, norm);
      }
    }
  }
  EXPECT_LE(largest_pruned, smallest_kept);
}

TEST(MagnitudePruning, SparsityZeroChangesNothing) {
  const Tensor original = test::random_tensor({4, 8, 3, 3}, 2);
  Tensor w = original.clone();
  compression::prune_by_magnitude(w.data_as<float>(), w.shape(), 0.0, 4);
  EXPECT_EQ(test::values_of<float>(w), test::values_of<float>(original));
}

// The file written: each pruned conv at the sparsity asked, zeros counted in the initializers;
// the first conv and the head bit for bit as they were.
TEST(Prune, FileHasTheAskedSparsityAndKeepsTheFirstAndDetectConvsDense) {
  const std::string in = model_file(), out = test::temp_path("prune_out.onnx");
  const auto before = test::initializers_of(in);
  for (int block : {1, 4}) {
    const auto report = compression::compress(in, out, prune_options(0.5, block));
    const auto after = test::initializers_of(out);
    for (const std::string w : {"c2.w", "c3.w", "c4.w"}) {
      const int64_t target = after.at(w).size() / 2;
      EXPECT_GE(zeros<float>(after.at(w)), target) << w << " block " << block;
      EXPECT_LT(zeros<float>(after.at(w)), target + block) << w << " block " << block;
    }
    for (const std::string w : {"c1.w", "h.w", "c2.b"}) {
      EXPECT_EQ(test::values_of<float>(after.at(w)), test::values_of<float>(before.at(w))) << w;
    }
    ASSERT_TRUE(report.prune);
    EXPECT_EQ(report.prune->pruned_convs(), 3);
    EXPECT_EQ(report.prune->layers.front().kept_dense_because, "first conv");
    EXPECT_EQ(report.prune->layers.back().kept_dense_because, "Detect head");
    EXPECT_NEAR(report.prune->achieved_sparsity(), 0.5, 0.01);
    EXPECT_FALSE(report.int8);
    const Engine e = Engine::load(out);
    const std::string meta = e.metadata().at("sparrow.compression");
    for (const std::string& field : std::vector<std::string>{"\"method\":\"magnitude\"", "\"sparsity_target\":0.5",
                                     "\"block\":" + std::to_string(block), "\"achieved_sparsity\":0.5", "\"pruned_convs\":3"}) {
      EXPECT_NE(meta.find(field), std::string::npos) << field << " in " << meta;
    }
    EXPECT_EQ(e.run({test::random_tensor(kInput, 3, 0, 1)})[0].shape(), (Shape{1, 6, 16, 16}));
  }
}

TEST(Prune, ExcludedConvsStayDense) {
  const std::string in = model_file(), out = test::temp_path("prune_exclude.onnx");
  const auto report = compression::compress(in, out, prune_options(0.7, 1, {"c3/Conv"}));
  EXPECT_EQ(report.prune->pruned_convs(), 2);
  EXPECT_EQ(report.prune->layers[2].kept_dense_because, "--exclude");
  EXPECT_EQ(test::values_of<float>(test::initializers_of(out).at("c3.w")), test::values_of<float>(test::initializers_of(in).at("c3.w")));
}

TEST(Prune, ExcludePatternsAreGlobsOverNodeNames) {
  const std::string in = model_file(), out = test::temp_path("prune_exclude_glob.onnx");
  const auto report = compression::compress(in, out, prune_options(0.7, 1, {"c[23]/*"}));
  EXPECT_EQ(report.prune->pruned_convs(), 1);
  EXPECT_EQ(report.prune->layers[1].kept_dense_because, "--exclude");
  EXPECT_EQ(report.prune->layers[2].kept_dense_because, "--exclude");
  test::expect_error([&] { compression::compress(in, out, prune_options(0.5, 1, {"c[23]/*", "nothing/*"})); },
                     ErrorCode::kNotFound, {"no node name matches 'nothing/*' to exclude"});
}

// Pruned first, then quantized: symmetric s8 maps every pruned zero to exactly 0.
TEST(Prune, WithInt8EveryPrunedZeroStaysExactlyZero) {
  const std::string in = model_file(), pruned = test::temp_path("prune_only.onnx"), both = test::temp_path("prune_int8.onnx");
  compression::compress(in, pruned, prune_options(0.5, 4));
  compression::CompressOptions options = prune_options(0.5, 4);
  options.int8 = compression::QuantizeOptions{};
  options.int8->calibration.images = calibration_images(3);
  const auto report = compression::compress(in, both, options);
  ASSERT_TRUE(report.prune && report.int8);
  EXPECT_EQ(report.opset, 13);
  const auto floats = test::initializers_of(pruned), quantized = test::initializers_of(both);
  for (const std::string w : {"c2.w", "c3.w", "c4.w"}) {
    const Tensor& f = floats.at(w);
    const Tensor& q = quantized.at(w + "_quantized");
    ASSERT_EQ(q.dtype(), DType::kInt8) << w;
    for (int64_t i = 0; i < f.size(); ++i) {
      if (f.data_as<float>()[i] == 0) {
        ASSERT_EQ(q.data_as<int8_t>()[i], 0) << w << "[" << i << "]";
      }
    }
    EXPECT_GE(zeros<int8_t>(q), zeros<float>(f)) << w;
  }
  const Engine e = Engine::load(both);
  EXPECT_NE(e.metadata().at("sparrow.compression").find("\"quantization\":\"int8 static QDQ\""), std::string::npos);
  EXPECT_TRUE(std::isfinite(e.run({test::random_tensor(kInput, 3, 0, 1)})[0].data_as<float>()[0]));
}

TEST(Prune, BadOptionsAndModelsAreErrorsThatSaySo) {
  const std::string in = model_file(), out = test::temp_path("prune_err.onnx");
  for (double s : {-0.1, 1.0, 1.5, std::nan("")}) {
    test::expect_error([&] { compression::compress(in, out, prune_options(s, 1)); }, ErrorCode::kInvalidArgument,
                       {"is outside [0, 1)"});
  }
  test::expect_error([&] { compression::compress(in, out, prune_options(0.5, 3)); }, ErrorCode::kInvalidArgument,
                     {"block 3 is not supported", "1 (any weight) or 4"});
  test::expect_error([&] { compression::compress(in, out, prune_options(0.5, 1, {"nope"})); }, ErrorCode::kNotFound,
                     {"no node named 'nope' to exclude"});
  test::expect_error([&] { compression::compress(in, out, {}); }, ErrorCode::kInvalidArgument,
                     {"nothing to do", "--sparsity", "--int8"});

  OnnxBuilder no_conv(13);
  no_conv.input("x", DType::kFloat32, kInput).node("Relu", {"x"}, {"y"}).output("y");
  test::write_file(out, no_conv.bytes());
  test::expect_error([&] { compression::compress(out, test::temp_path("p2.onnx"), prune_options(0.5, 1)); },
                     ErrorCode::kInvalidArgument, {"has no Conv to prune"});
  OnnxBuilder one_conv(13);  // its only conv is both the first and the head
  one_conv.input("x", DType::kFloat32, kInput).initializer("w", test::random_tensor({4, 3, 3, 3}, 1));
  one_conv.node("Conv", {"x", "w"}, {"y"}, {}, "only/Conv").output("y");
  test::write_file(out, one_conv.bytes());
  test::expect_error([&] { compression::compress(out, test::temp_path("p2.onnx"), prune_options(0.5, 1)); },
                     ErrorCode::kInvalidArgument, {"no Conv to prune", "1 first conv"});

  const std::string quantized = test::temp_path("prune_quantized.onnx");
  compression::CompressOptions int8;
  int8.int8 = compression::QuantizeOptions{};
  int8.int8->calibration.images = calibration_images(2);
  compression::compress(in, quantized, int8);
  test::expect_error([&] { compression::compress(quantized, out, prune_options(0.5, 1)); }, ErrorCode::kInvalidArgument,
                     {"quantized already", "prune the float model"});
}

}  // namespace
}  // namespace sparrow
