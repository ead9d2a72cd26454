// Low-rank factorization of the 1x1 convs (compress --method lowrank): the factorization of one
// weight matrix against the known optimum, and whole small models factored through compress.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <map>
#include <optional>
#include <random>

#include "support/random_matrix.h"
#include "compression/lowrank_factorization.h"
#include "compression/lowrank_pruning.h"
#include "compression/sparsegpt.h"
#include "sparrow/compression/compress.h"
#include "sparrow/engine.h"
#include "support/onnx_builder.h"
#include "support/test_support.h"

namespace sparrow {
namespace {

using Eigen::MatrixXd;
using test::Attr;
using test::OnnxBuilder;

using test::random_matrix;

// The second moment of inputs whose channels are strongly correlated and unevenly scaled, as a
// conv's inputs are: where fitting the output differs most from fitting the weights.
MatrixXd correlated_second_moment(Eigen::Index channels, uint64_t seed) {
  const MatrixXd mix = random_matrix(channels, channels / 2, seed);
  const MatrixXd x = mix * random_matrix(channels / 2, 4000, seed + 1) + 0.05 * random_matrix(channels, 4000, seed + 2);
  return x * x.transpose() / 4000.0;
}

// The square root of a positive definite matrix.
MatrixXd root_of(const MatrixXd& h) {
  const Eigen::SelfAdjointEigenSolver<MatrixXd> e(h);
  return e.eigenvectors() * e.eigenvalues().cwiseSqrt().asDiagonal() * e.eigenvectors().transpose();
}

// The smallest squared norm left by any rank-r approximation of m (Eckart-Young).
double best_residual(const MatrixXd& m, Eigen::Index rank) {
  const Eigen::VectorXd s = Eigen::JacobiSVD<MatrixXd>(m).singularValues();
  return s.tail(s.size() - rank).squaredNorm();
}

TEST(LowRankFactorization, RankRemovesTheFractionAsked) {
  EXPECT_EQ(compression::lowrank_rank(64, 64, 0.5), 16);  // 16 x 128 = half of 64 x 64
  EXPECT_EQ(compression::lowrank_rank(16, 8, 0.3), 3);    // floor(0.7 x 128 / 24) = floor(3.73)
  EXPECT_EQ(compression::lowrank_rank(2, 2, 0.3), 0);     // rank 1 keeps all 4 weights
  for (double s : {0.0, 0.3, 0.5, 0.9}) {
    const int64_t r = compression::lowrank_rank(48, 96, s);
    EXPECT_LE(r * (48 + 96), (1 - s) * 48 * 96) << s;
    EXPECT_GT((r + 1) * (48 + 96), (1 - s) * 48 * 96) << s;
  }
}

TEST(LowRankFactorization, WithoutInputStatisticsItIsTheTruncatedSvdOfW) {
  const MatrixXd w = random_matrix(12, 20, 1);
  const auto f = compression::lowrank_factor(w, MatrixXd::Zero(20, 20), 5, 0);
  ASSERT_EQ(f.a.rows(), 12);
  ASSERT_EQ(f.a.cols(), 5);
  ASSERT_EQ(f.b.rows(), 5);
  ASSERT_EQ(f.b.cols(), 20);
  EXPECT_NEAR((w - f.a * f.b).squaredNorm(), best_residual(w, 5), 1e-9 * w.squaredNorm());
}

// The output error reaches the optimum, the rank-r residual of W·H^{1/2}, below what the
// weights' own best rank-r approximation leaves on the same inputs.
TEST(LowRankFactorization, FitsTheLayerOutputOptimally) {
  const MatrixXd h = correlated_second_moment(32, 3), w = random_matrix(24, 32, 4);
  for (int64_t rank : {2, 6, 12}) {
    const auto f = compression::lowrank_factor(w, h, rank, 0);
    const MatrixXd delta = w - f.a * f.b;
    const double error = (delta * h).cwiseProduct(delta).sum();
    EXPECT_NEAR(error, best_residual(w * root_of(h), rank), 1e-6 * error) << rank;
    const auto plain = compression::lowrank_factor(w, MatrixXd::Zero(32, 32), rank, 0);
    EXPECT_LT(compression::relative_output_error(w, f.a * f.b, h), compression::relative_output_error(w, plain.a * plain.b, h))
        << rank;
    // B whitens the inputs: its outputs have unit second moment, so one u8 grid suits every channel.
    EXPECT_TRUE((f.b * h * f.b.transpose()).isIdentity(1e-6)) << rank;
  }
}

TEST(LowRankFactorization, AMatrixOfThatRankIsKeptExactly) {
  const MatrixXd w = random_matrix(16, 3, 5) * random_matrix(3, 10, 6);
  const auto f = compression::lowrank_factor(w, correlated_second_moment(10, 7), 3);  // damped, as compress does
  EXPECT_LT((w - f.a * f.b).norm(), 1e-9 * w.norm());
}

TEST(LowRankFactorization, ARankThatDoesNotShrinkIsAnError) {
  const MatrixXd w = random_matrix(6, 8, 8), h = MatrixXd::Identity(8, 8);
  test::expect_error([&] { compression::lowrank_factor(w, h, 0, 0); }, ErrorCode::kInvalidArgument, {"rank 0", "6x8"});
  test::expect_error([&] { compression::lowrank_factor(w, h, 6, 0); }, ErrorCode::kInvalidArgument, {"rank 6"});
  test::expect_error([&] { compression::lowrank_factor(w, MatrixXd::Identity(6, 6), 2, 0); }, ErrorCode::kInvalidArgument,
                     {"H is 6x6 for 8 inputs"});
}

// images (1x3x16x16) -> c1 3x3 (the first conv) -> c2 1x1 8->16 -> c3 1x1 16->16, stride 2 and
// pads 1 -> c4 3x3 -> head 1x1 -> Sigmoid. c2 and c3 are the convs to factor; `c2` and `c3`
// replace their random weights when given.
std::string model_with_1x1_convs(const std::optional<Tensor>& c2 = {}, const std::optional<Tensor>& c3 = {}) {
  OnnxBuilder b(13);
  b.input("images", DType::kFloat32, {1, 3, 16, 16});
  test::conv_silu(b, "c1", "images", 3, 8, 3, 1);
  b.initializer("c2.w", c2 ? *c2 : test::random_tensor({16, 8, 1, 1}, 3, -0.5f, 0.5f));
  b.initializer("c2.b", test::random_tensor({16}, 4, -0.2f, 0.2f));
  b.node("Conv", {"c1.m", "c2.w", "c2.b"}, {"c2"}, {}, "c2/Conv");
  b.node("Sigmoid", {"c2"}, {"c2.s"}, {}, "c2/Sigmoid");
  b.node("Mul", {"c2", "c2.s"}, {"c2.m"}, {}, "c2/Mul");
  b.initializer("c3.w", c3 ? *c3 : test::random_tensor({16, 16, 1, 1}, 5, -0.5f, 0.5f));
  b.initializer("c3.b", test::random_tensor({16}, 6, -0.2f, 0.2f));
  b.node("Conv", {"c2.m", "c3.w", "c3.b"}, {"c3"}, {Attr::Ints("strides", {2, 2}), Attr::Ints("pads", {1, 1, 1, 1})}, "c3/Conv");
  b.node("Sigmoid", {"c3"}, {"c3.s"}, {}, "c3/Sigmoid");
  b.node("Mul", {"c3", "c3.s"}, {"c3.m"}, {}, "c3/Mul");
  test::conv_silu(b, "c4", "c3.m", 16, 8, 3, 7);
  b.initializer("h.w", test::random_tensor({6, 8, 1, 1}, 9, -0.5f, 0.5f));
  b.node("Conv", {"c4.m", "h.w"}, {"h"}, {}, "head/Conv");
  b.node("Sigmoid", {"h"}, {"output"}, {}, "head/Sigmoid");
  b.output("output");
  return b.bytes();
}

std::string model_file(const std::string& name, const std::string& bytes) {
  const std::string path = test::temp_path(name);
  test::write_file(path, bytes);
  return path;
}

compression::CompressOptions lowrank_options(double sparsity) {
  compression::CompressOptions o;
  o.prune = compression::PruneOptions{};
  o.prune->sparsity = sparsity;
  o.prune->method = compression::PruneMethod::kLowRank;
  o.prune->calibration_images = test::random_images("lowrank_calibration", 6);
  o.prune->calibration_source = "random";
  return o;
}

size_t conv_count(const std::string& path) {
  onnx::ModelProto m;
  EXPECT_TRUE(m.ParseFromString(test::read_binary_file(path)));
  return static_cast<size_t>(std::count_if(m.graph().node().begin(), m.graph().node().end(),
                                           [](const onnx::NodeProto& n) { return n.op_type() == "Conv"; }));
}

TEST(LowRankCompress, EachEligible1x1ConvBecomesTwoOfTheRankAsked) {
  const std::string in = model_file("lowrank_in.onnx", model_with_1x1_convs()), out = test::temp_path("lowrank_out.onnx");
  const auto report = compression::compress(in, out, lowrank_options(0.5));
  ASSERT_TRUE(report.prune);
  EXPECT_EQ(report.prune->pruned_convs(), 2);
  std::map<std::string, const compression::LayerSparsity*> layers;
  for (const auto& l : report.prune->layers) layers[l.node] = &l;
  EXPECT_EQ(layers.at("c1/Conv")->kept_dense_because, "first conv");
  EXPECT_EQ(layers.at("c4/Conv")->kept_dense_because, "not a 1x1 conv");
  EXPECT_EQ(layers.at("head/Conv")->kept_dense_because, "Detect head");
  EXPECT_EQ(layers.at("c2/Conv")->rank, 2);  // floor(0.5 x 128 / 24)
  EXPECT_EQ(layers.at("c3/Conv")->rank, 4);  // floor(0.5 x 256 / 32)
  EXPECT_EQ(layers.at("c3/Conv")->zeros, 256 - 4 * 32);
  for (const std::string name : {"c2/Conv", "c3/Conv"}) {
    EXPECT_GE(layers.at(name)->sparsity(), 0.5) << name;
    EXPECT_LT(layers.at(name)->output_error, layers.at(name)->weight_svd_output_error) << name;
  }
  EXPECT_EQ(conv_count(out), 7u);
  const auto after = test::initializers_of(out);
  EXPECT_FALSE(after.count("c2.w") || after.count("c3.w")) << "the factored weights are left in the file";
  EXPECT_EQ(after.at("c2.w.lowrank_b").shape(), (Shape{2, 8, 1, 1}));
  EXPECT_EQ(after.at("c2.w.lowrank_a").shape(), (Shape{16, 2, 1, 1}));
  EXPECT_EQ(after.at("c3.w.lowrank_b").shape(), (Shape{4, 16, 1, 1}));
  EXPECT_EQ(after.at("c3.w.lowrank_a").shape(), (Shape{16, 4, 1, 1}));
  const Engine e = Engine::load(out);
  const std::string meta = e.metadata().at("sparrow.compression");
  for (const std::string field : {"\"method\":\"lowrank\"", "\"factored_convs\":2", "\"calibration_images\":6"}) {
    EXPECT_NE(meta.find(field), std::string::npos) << field << " in " << meta;
  }
  EXPECT_EQ(e.run({test::random_tensor({1, 3, 16, 16}, 10, 0, 1)})[0].shape(), (Shape{1, 6, 9, 9}));
}

// Weights of exactly the rank kept: the two convs (c3's B with the stride and the pads) give the
// dense model's outputs, and the bias correction moves nothing.
TEST(LowRankCompress, WeightsOfThatRankGiveTheDenseOutputs) {
  const auto low_rank = [](int64_t o, int64_t i, int64_t r, uint64_t seed) {
    const Tensor p = test::random_tensor({o, r}, seed, -0.5f, 0.5f), q = test::random_tensor({r, i}, seed + 1, -0.5f, 0.5f);
    Tensor w(DType::kFloat32, {o, i, 1, 1});
    for (int64_t a = 0; a < o; ++a) {
      for (int64_t b = 0; b < i; ++b) {
        float sum = 0;
        for (int64_t k = 0; k < r; ++k) sum += p.data_as<float>()[a * r + k] * q.data_as<float>()[k * i + b];
        w.data_as<float>()[a * i + b] = sum;
      }
    }
    return w;
  };
  const std::string in = model_file("lowrank_exact.onnx", model_with_1x1_convs(low_rank(16, 8, 2, 11), low_rank(16, 16, 4, 13)));
  const std::string out = test::temp_path("lowrank_exact_out.onnx");
  compression::compress(in, out, lowrank_options(0.5));
  EXPECT_EQ(conv_count(out), 7u);
  const Engine dense = Engine::load(in), factored = Engine::load(out);
  for (uint64_t seed : {20, 21}) {
    const Tensor x = test::random_tensor({1, 3, 16, 16}, seed, 0, 1);
    EXPECT_TRUE(test::all_close(factored.run({x})[0], dense.run({x})[0], 1e-4, 1e-5)) << "image " << seed;
  }
}

TEST(LowRankCompress, ThenInt8QuantizesBothConvs) {
  const std::string in = model_file("lowrank_int8_in.onnx", model_with_1x1_convs()), out = test::temp_path("lowrank_int8.onnx");
  auto options = lowrank_options(0.3);
  options.int8 = compression::QuantizeOptions{};
  options.int8->calibration.images = test::random_images("lowrank_calibration", 3);
  const auto report = compression::compress(in, out, options);
  ASSERT_TRUE(report.prune && report.int8);
  const auto q = test::initializers_of(out);
  for (const std::string w : {"c2.w.lowrank_b", "c2.w.lowrank_a", "c3.w.lowrank_b", "c3.w.lowrank_a"}) {
    ASSERT_TRUE(q.count(w + "_quantized")) << w;
    EXPECT_EQ(q.at(w + "_quantized").dtype(), DType::kInt8) << w;
  }
  EXPECT_EQ(Engine::load(out).run({test::random_tensor({1, 3, 16, 16}, 30, 0, 1)})[0].shape(), (Shape{1, 6, 9, 9}));
}

TEST(LowRankCompress, SameInputsWriteTheSameBytes) {
  const std::string in = model_file("lowrank_same.onnx", model_with_1x1_convs());
  const std::string a = test::temp_path("lowrank_a.onnx"), b = test::temp_path("lowrank_b.onnx");
  compression::compress(in, a, lowrank_options(0.3));
  compression::compress(in, b, lowrank_options(0.3));
  EXPECT_TRUE(test::read_binary_file(a) == test::read_binary_file(b));
}

TEST(LowRankCompress, BadInputIsAnErrorThatSaysSo) {
  const std::string in = model_file("lowrank_err.onnx", model_with_1x1_convs()), out = test::temp_path("lowrank_err_out.onnx");
  auto options = lowrank_options(0.5);
  options.prune->calibration_images.clear();
  test::expect_error([&] { compression::compress(in, out, options); }, ErrorCode::kInvalidArgument,
                     {"--method lowrank needs calibration images"});
  options = lowrank_options(1.0);
  test::expect_error([&] { compression::compress(in, out, options); }, ErrorCode::kInvalidArgument, {"sparsity 1 is outside [0, 1)"});
  // small_pruning_model's only 1x1 convs besides the head: c3 (10 -> 12), excluded here.
  const std::string no_1x1 = model_file("lowrank_no_1x1.onnx", test::small_pruning_model());
  options = lowrank_options(0.5);
  options.prune->exclude = {"c3/Conv"};
  test::expect_error([&] { compression::compress(no_1x1, out, options); }, ErrorCode::kInvalidArgument,
                     {"no Conv to factor", "2 not a 1x1 conv", "1 --exclude"});
  EXPECT_EQ(compression::parse_prune_method("lowrank"), compression::PruneMethod::kLowRank);
  // A 1x1 conv too small for any rank to shrink it (2 -> 2 weights at rank 1: 4, as many).
  EXPECT_EQ(compression::lowrank_ineligibility(onnx::NodeProto{}, {2, 2, 1, 1}, 0.3), "no rank would remove weights");
  onnx::NodeProto grouped;
  auto* group = grouped.add_attribute();
  group->set_name("group");
  group->set_i(2);
  EXPECT_EQ(compression::lowrank_ineligibility(grouped, {16, 8, 1, 1}, 0.3), "grouped conv");
}

}  // namespace
}  // namespace sparrow
