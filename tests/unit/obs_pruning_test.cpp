// One-shot OBS pruning (compress --method obs): the layer Hessian's im2col, SparseGPT on one
// weight matrix against magnitude pruning, and whole small models pruned through compress.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <random>

#include "support/random_matrix.h"
#include "compression/calibrator.h"
#include "compression/layer_hessian.h"
#include "compression/layerwise_calibration.h"
#include "compression/magnitude_pruning.h"
#include "compression/progressive_runner.h"
#include "compression/sparsegpt.h"
#include "onnx/tensor_proto.h"
#include "sparrow/compression/compress.h"
#include "support/onnx_builder.h"
#include "support/test_support.h"

namespace sparrow {
namespace {

namespace fs = std::filesystem;
using Eigen::MatrixXd;
using test::Attr;
using test::OnnxBuilder;

const Shape kInput = {1, 3, 16, 16};

using test::correlated_inputs;
using test::random_matrix;

int64_t zeros(const MatrixXd& m) { return (m.array() == 0).count(); }

MatrixXd magnitude_pruned(MatrixXd w, double sparsity) {
  std::vector<float> v(w.data(), w.data() + w.size());
  compression::prune_by_magnitude(v.data(), {w.size()}, sparsity, 1);  // one run: unstructured over all
  for (Eigen::Index i = 0; i < w.size(); ++i) w.data()[i] = v[static_cast<size_t>(i)];
  return w;
}

TEST(LayerHessian, Im2colColumnsReproduceTheConvolution) {
  // 5 input channels, 3x3, stride 2, pads 1: y = W·x over H's columns, checked through the mean
  // (W·μ = mean output) and the second moment (tr(W·H·Wᵀ) = mean ||y||²).
  const int64_t c = 5, o = 3, h = 7, w = 9;
  const Tensor input = test::random_tensor({1, c, h, w}, 11, -1, 1);
  const Tensor weights = test::random_tensor({o, c, 3, 3}, 12, -1, 1);
  onnx::NodeProto conv;
  conv.set_op_type("Conv");
  for (const auto& [name, values] : {std::pair<std::string, std::vector<int64_t>>{"strides", {2, 2}}, {"pads", {1, 1, 1, 1}}}) {
    auto* a = conv.add_attribute();
    a->set_name(name);
    for (int64_t v : values) a->add_ints(v);
  }
  const auto g = compression::conv_geometry(conv, weights.shape(), h, w);
  ASSERT_EQ(g.out_h, 4);
  ASSERT_EQ(g.out_w, 5);
  compression::LayerHessian hessian(g, 1000, 1);
  hessian.add(input.data_as<float>());
  EXPECT_EQ(hessian.columns(), 20);
  // The direct convolution, and W as the Hessian's columns order it (position major).
  MatrixXd wm(o, 45);
  for (int64_t oc = 0; oc < o; ++oc) {
    for (int64_t ic = 0; ic < c; ++ic) {
      for (int64_t k = 0; k < 9; ++k) wm(oc, k * c + ic) = weights.data_as<float>()[(oc * c + ic) * 9 + k];
    }
  }
  Eigen::VectorXd mean = Eigen::VectorXd::Zero(o);
  double square = 0;
  for (int64_t oy = 0; oy < 4; ++oy) {
    for (int64_t ox = 0; ox < 5; ++ox) {
      Eigen::VectorXd y = Eigen::VectorXd::Zero(o);
      for (int64_t oc = 0; oc < o; ++oc) {
        for (int64_t ic = 0; ic < c; ++ic) {
          for (int64_t ky = 0; ky < 3; ++ky) {
            for (int64_t kx = 0; kx < 3; ++kx) {
              const int64_t iy = oy * 2 - 1 + ky, ix = ox * 2 - 1 + kx;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              y(oc) += weights.data_as<float>()[((oc * c + ic) * 3 + ky) * 3 + kx] * input.data_as<float>()[(ic * h + iy) * w + ix];
            }
          }
        }
      }
      mean += y / 20.0;
      square += y.squaredNorm() / 20.0;
    }
  }
  EXPECT_LT((wm * hessian.mean() - mean).norm(), 1e-5);
  EXPECT_NEAR((wm * hessian.hessian() * wm.transpose()).trace(), square, 1e-4 * square);
}

TEST(LayerHessian, LargeLayersAreSubSampledTheSameWayForTheSameSeed) {
  onnx::NodeProto conv;
  const auto g = compression::conv_geometry(conv, {4, 3, 1, 1}, 20, 20);
  const Tensor input = test::random_tensor({1, 3, 20, 20}, 5, -1, 1);
  const auto hessian_for = [&](uint64_t seed) {
    compression::LayerHessian h(g, 50, seed);
    h.add(input.data_as<float>());
    h.add(input.data_as<float>());
    EXPECT_EQ(h.columns(), 100);
    return h.hessian();
  };
  EXPECT_EQ(hessian_for(7), hessian_for(7));
  EXPECT_NE(hessian_for(7), hessian_for(8));
}

// The cross moment with the dense model's inputs samples the same pixels as the Hessian: with
// the same input twice it is the Hessian, and a scaled dense input scales it.
TEST(LayerHessian, CrossMomentPairsTheSamePixels) {
  onnx::NodeProto conv;
  const auto g = compression::conv_geometry(conv, {4, 3, 3, 3}, 20, 20);
  const Tensor input = test::random_tensor({1, 3, 20, 20}, 5, -1, 1);
  Tensor doubled = input.clone();
  for (int64_t i = 0; i < doubled.size(); ++i) doubled.data_as<float>()[i] *= 2;
  compression::LayerHessian same(g, 50, 3), scaled(g, 50, 3);
  EXPECT_FALSE(same.has_dense());
  same.add(input.data_as<float>(), input.data_as<float>());
  scaled.add(input.data_as<float>(), doubled.data_as<float>());
  ASSERT_TRUE(same.has_dense());
  EXPECT_TRUE(same.cross().isApprox(same.hessian(), 1e-6));
  EXPECT_TRUE(same.dense_mean().isApprox(same.mean(), 1e-6));
  EXPECT_TRUE(scaled.cross().isApprox(2 * same.hessian(), 1e-6));
  compression::LayerHessian partial(g, 50, 3);
  partial.add(input.data_as<float>());
  EXPECT_THROW(partial.add(input.data_as<float>(), input.data_as<float>()), Error);  // dense inputs for some images only
}

TEST(LayerHessian, GroupedConvsAreRefusedByName) {
  onnx::NodeProto conv;
  conv.set_name("dw/Conv");
  auto* group = conv.add_attribute();
  group->set_name("group");
  group->set_i(4);
  test::expect_error([&] { compression::conv_geometry(conv, {4, 1, 3, 3}, 8, 8); }, ErrorCode::kUnsupported,
                     {"dw/Conv", "grouped"});
}

TEST(SparseGpt, ZeroesExactlyTheTargetWithLessOutputErrorThanMagnitude) {
  const MatrixXd x = correlated_inputs(90, 2000, 3);
  const MatrixXd h = x * x.transpose() / 2000.0;
  const MatrixXd original = random_matrix(16, 90, 4);
  for (double sparsity : {0.3, 0.5, 0.7}) {
    MatrixXd w = original;
    compression::SparseGptOptions o;
    o.sparsity = sparsity;
    o.lazy_batch = 32;  // several lazy batches over 90 columns
    compression::sparsegpt_prune(w, h, o);
    EXPECT_EQ(zeros(w), std::llround(sparsity * 1440)) << sparsity;
    const double obs = compression::relative_output_error(original, w, h);
    const double magnitude = compression::relative_output_error(original, magnitude_pruned(original, sparsity), h);
    EXPECT_LT(obs, 0.7 * magnitude) << sparsity;
  }
}

// 10 channels at 9 positions: blocks of 4, 4 and 2 consecutive channels, contiguous columns.
TEST(SparseGpt, BlocksOfFourAreZeroedWhole) {
  const MatrixXd x = correlated_inputs(90, 1000, 5);
  const MatrixXd original = random_matrix(6, 90, 6);
  MatrixXd w = original;
  compression::SparseGptOptions o;
  o.sparsity = 0.6;
  o.run_length = 10;
  o.block = 4;
  compression::sparsegpt_prune(w, x * x.transpose() / 1000.0, o);
  const int64_t target = std::llround(0.6 * 540);
  EXPECT_GE(zeros(w), target);
  EXPECT_LT(zeros(w), target + 4);
  for (Eigen::Index r = 0; r < 6; ++r) {
    for (Eigen::Index k = 0; k < 9; ++k) {
      for (Eigen::Index c0 = 0; c0 < 10; c0 += 4) {
        const Eigen::Index length = std::min<Eigen::Index>(4, 10 - c0);
        const auto n = (w.row(r).segment(k * 10 + c0, length).array() == 0).count();
        EXPECT_TRUE(n == 0 || n == length) << "row " << r << " block at " << k * 10 + c0 << " is cut";
      }
    }
  }
}

// One row, two blocks of 4, half zeroed: zeroing the first block lets the second compensate, by
// the full group OBS loss w_A [(H⁻¹)_AA]⁻¹ w_Aᵀ; zeroing the second leaves the first as it is,
// at w_B H_BB w_Bᵀ. On correlated inputs the block picked must be the cheaper of the two exactly,
// which a saliency summed over the block's single columns misses.
TEST(SparseGpt, BlocksAreRankedByTheirExactGroupLoss) {
  for (uint64_t seed = 0; seed < 40; ++seed) {
    const MatrixXd x = correlated_inputs(8, 200, 100 + seed);
    const MatrixXd h = x * x.transpose() / 200.0;
    const MatrixXd original = random_matrix(1, 8, 200 + seed);
    MatrixXd w = original;
    compression::SparseGptOptions o;
    o.sparsity = 0.5;
    o.run_length = 8;
    o.block = 4;
    o.damping = 0;
    compression::sparsegpt_prune(w, h, o);
    const Eigen::VectorXd wa = original.row(0).head(4).transpose(), wb = original.row(0).tail(4).transpose();
    const MatrixXd inverse_aa = h.inverse().topLeftCorner(4, 4);
    const double loss_a = wa.dot(inverse_aa.llt().solve(wa));
    const double loss_b = wb.dot(h.bottomRightCorner(4, 4) * wb);
    const MatrixXd delta = original - w;
    const double loss = (delta * h * delta.transpose())(0, 0);
    EXPECT_NEAR(loss, std::min(loss_a, loss_b), 1e-9 * (1 + loss)) << "seed " << seed;
  }
}

// Independent inputs, the first lazy batch's columns with 100x the variance of the second's:
// ranked over the whole layer, most zeros belong in the second batch (in the first, only weights
// 10x smaller than the second's pruned ones: about 10 % of them). Before, each batch was due the
// layer's share, 40 % of the first batch's 256 weights.
TEST(SparseGpt, EachLazyBatchTakesTheZerosTheWholeLayerRanksInIt) {
  MatrixXd x = random_matrix(64, 4000, 9);
  x.topRows(32) *= 10.0;
  const MatrixXd h = x * x.transpose() / 4000.0;
  const MatrixXd original = random_matrix(8, 64, 10);
  for (int block : {1, 4}) {
    MatrixXd w = original;
    compression::SparseGptOptions o;
    o.sparsity = 0.4;
    o.run_length = 64;
    o.block = block;
    o.lazy_batch = 32;
    compression::sparsegpt_prune(w, h, o);
    const int64_t target = std::llround(0.4 * 512);
    EXPECT_GE(zeros(w), target) << block;
    EXPECT_LT(zeros(w), target + block) << block;
    EXPECT_LT(zeros(w.leftCols(32)), target / 5) << block;
  }
}

TEST(SparseGpt, InputsNeverSeenGetZeroWeights) {
  MatrixXd x = correlated_inputs(20, 500, 7);
  x.row(3).setZero();
  MatrixXd w = random_matrix(4, 20, 8);
  compression::SparseGptOptions o;
  o.sparsity = 0.25;
  compression::sparsegpt_prune(w, x * x.transpose() / 500.0, o);
  EXPECT_TRUE((w.col(3).array() == 0).all());
  EXPECT_EQ(zeros(w), 20);
}

// test::small_pruning_model(), as a file.
std::string model_file() {
  const std::string path = test::temp_path("obs_model.onnx");
  test::write_file(path, test::small_pruning_model());
  return path;
}

std::vector<std::string> calibration_images(int n) { return test::random_images("obs_calibration_" + std::to_string(n), n); }

compression::CompressOptions obs_options(double sparsity, int block, uint64_t seed = 0) {
  compression::CompressOptions o;
  o.prune = compression::PruneOptions{};
  o.prune->sparsity = sparsity;
  o.prune->block = block;
  o.prune->method = compression::PruneMethod::kObs;
  o.prune->calibration_images = calibration_images(6);
  o.prune->calibration_source = "random";
  o.prune->seed = seed;
  return o;
}


// Pass after pass, each computing only what lies past the tensors kept, the runner gives what
// one engine run of the whole model gives.
TEST(ProgressiveRunner, StepByStepTensorsEqualOneFullRun) {
  onnx::ModelProto m;
  ASSERT_TRUE(m.ParseFromString(test::read_binary_file(model_file())));
  const std::vector<Tensor> images = {test::random_tensor(kInput, 21, 0, 1), test::random_tensor(kInput, 22, 0, 1)};
  const std::vector<std::string> steps = {"c1.m", "c2.m", "c3.m", "c4.m"};
  const Engine full = compression::observing_engine(m, steps, 1);
  compression::ProgressiveRunner runner(images, "images", 1);
  for (const std::string& step : steps) {
    runner.advance(m, {step});
    size_t slot = 0;
    while (full.outputs()[slot].name != step) ++slot;
    for (size_t n = 0; n < images.size(); ++n) {
      EXPECT_TRUE(test::all_close(runner.tensor(step, n), full.run({images[n]})[slot], 1e-5, 1e-6)) << step << " image " << n;
    }
    runner.release(m.graph());
  }
  EXPECT_THROW(runner.tensor("c1.m", 0), Error);  // every reader of c1.m has run: dropped
}

TEST(ObsPruning, EachPrunedLayerHasTheTargetAndLessOutputErrorThanMagnitude) {
  const std::string in = model_file(), out = test::temp_path("obs_out.onnx");
  for (int block : {1, 4}) {
    const auto report = compression::compress(in, out, obs_options(0.5, block));
    ASSERT_TRUE(report.prune);
    EXPECT_EQ(report.prune->pruned_convs(), 3);
    const auto after = test::initializers_of(out);
    for (const std::string w : {"c2.w", "c3.w", "c4.w"}) {
      const Tensor& t = after.at(w);
      const auto n = std::count(t.data_as<float>(), t.data_as<float>() + t.size(), 0.0f);
      EXPECT_GE(n, t.size() / 2) << w << " block " << block;
      EXPECT_LT(n, t.size() / 2 + block) << w << " block " << block;
    }
    for (const auto& layer : report.prune->layers) {
      if (!layer.pruned) continue;
      EXPECT_GE(layer.output_error, 0) << layer.node;
      EXPECT_LT(layer.output_error, layer.magnitude_output_error) << layer.node << " block " << block;
      EXPECT_EQ(layer.pattern_by, "OBC") << layer.node;  // a small model: every layer's zeros by OBC
    }
    const Engine e = Engine::load(out);
    const std::string meta = e.metadata().at("sparrow.compression");
    for (const std::string field : {"\"method\":\"obs\"", "\"calibration_images\":6", "\"seed\":0", "OBS saliency"}) {
      EXPECT_NE(meta.find(field), std::string::npos) << field << " in " << meta;
    }
  }
}

// c2 reads the dense first conv's output, so its inputs are the same before and after: its mean
// output over the calibration images must not move, although half its weights are gone.
TEST(ObsPruning, BiasCorrectionKeepsEachChannelsMeanOutput) {
  const std::string in = model_file(), out = test::temp_path("obs_bias.onnx");
  const auto options = obs_options(0.5, 1);
  compression::compress(in, out, options);
  const auto mean_of_c2 = [&](const std::string& path) {
    onnx::ModelProto m;
    m.ParseFromString(test::read_binary_file(path));
    const Engine engine = compression::observing_engine(m, {"c2"}, 1);
    size_t slot = 0;
    while (engine.outputs()[slot].name != "c2") ++slot;
    std::vector<double> mean(10, 0.0);
    for (const std::string& image : options.prune->calibration_images) {
      const Tensor y = engine.run({compression::letterboxed_image(image, compression::image_input(engine))})[slot];
      for (int64_t i = 0; i < y.size(); ++i) mean[static_cast<size_t>(i / 256)] += y.data_as<float>()[i] / (256.0 * 6);
    }
    return mean;
  };
  const auto before = mean_of_c2(in), after = mean_of_c2(out);
  EXPECT_NE(test::values_of<float>(test::initializers_of(in).at("c2.b")), test::values_of<float>(test::initializers_of(out).at("c2.b")));
  for (size_t c = 0; c < before.size(); ++c) EXPECT_NEAR(after[c], before[c], 1e-4) << "channel " << c;
}

// Sensitivity allocation keeps the global target over the pruned convs, reports each conv's
// measured cost, and records itself in the metadata.
TEST(ObsPruning, SensitivityAllocationReachesTheTargetOverall) {
  const std::string in = model_file(), out = test::temp_path("obs_sensitivity.onnx");
  auto options = obs_options(0.5, 1);
  options.prune->allocation = compression::SparsityAllocation::kSensitivity;
  const auto report = compression::compress(in, out, options);
  ASSERT_TRUE(report.prune);
  EXPECT_GE(report.prune->achieved_sparsity(), 0.5);
  EXPECT_LT(report.prune->achieved_sparsity(), 0.6);
  for (const auto& layer : report.prune->layers) {
    if (layer.pruned) {
      EXPECT_GE(layer.model_error, 0) << layer.node;
    }
  }
  const std::string meta = Engine::load(out).metadata().at("sparrow.compression");
  EXPECT_NE(meta.find("\"allocation\":\"sensitivity\""), std::string::npos) << meta;
  options.prune->method = compression::PruneMethod::kMagnitude;
  test::expect_error([&] { compression::compress(in, out, options); }, ErrorCode::kInvalidArgument,
                     {"--allocation sensitivity needs --method obs"});
  test::expect_error([] { compression::parse_sparsity_allocation("greedy"); }, ErrorCode::kInvalidArgument,
                     {"unknown sparsity allocation 'greedy'", "uniform or sensitivity"});
}

TEST(ObsPruning, SameSeedWritesTheSameBytes) {
  const std::string in = model_file(), a = test::temp_path("obs_a.onnx"), b = test::temp_path("obs_b.onnx");
  compression::compress(in, a, obs_options(0.4, 4, 3));
  compression::compress(in, b, obs_options(0.4, 4, 3));
  EXPECT_TRUE(test::read_binary_file(a) == test::read_binary_file(b)) << "same seed, different files";
  EXPECT_FALSE(test::read_binary_file(a) == test::read_binary_file(in)) << "nothing pruned";
}

TEST(ObsPruning, ThenInt8KeepsEveryZero) {
  const std::string in = model_file(), out = test::temp_path("obs_int8.onnx");
  auto options = obs_options(0.5, 4);
  options.int8 = compression::QuantizeOptions{};
  options.int8->calibration.images = calibration_images(3);
  const auto report = compression::compress(in, out, options);
  ASSERT_TRUE(report.prune && report.int8);
  const auto q = test::initializers_of(out);
  const Tensor& c3 = q.at("c3.w_quantized");
  EXPECT_GE(std::count(c3.data_as<int8_t>(), c3.data_as<int8_t>() + c3.size(), int8_t{0}), c3.size() / 2);
  // GPTQ rounded each pruned conv's weights; the file keeps its steps (and so its integers).
  for (const std::string w : {"c2.w", "c3.w", "c4.w"}) {
    ASSERT_TRUE(report.prune->int8_steps.count(w)) << w;
    EXPECT_EQ(report.prune->int8_steps.at(w), test::values_of<float>(q.at(w + "_scale"))) << w;
  }
}

// With --int8, obs calibrates the dense model before pruning and the file keeps those grids: the
// activation scales are exactly plain --int8's on the dense model.
TEST(ObsPruning, Int8KeepsTheDenseModelsActivationGrids) {
  const std::string in = model_file(), out = test::temp_path("obs_int8_grids.onnx"), plain = test::temp_path("int8_grids.onnx");
  auto options = obs_options(0.5, 1);
  options.int8 = compression::QuantizeOptions{};
  options.int8->calibration.images = calibration_images(3);
  compression::compress(in, out, options);
  compression::quantize_int8(in, plain, *options.int8);
  const auto q = test::initializers_of(out), dense = test::initializers_of(plain);
  int activations = 0;
  for (const auto& [name, scale] : dense) {
    const bool activation_scale = name.size() > 6 && name.compare(name.size() - 6, 6, "_scale") == 0 && name.find(".w_") == std::string::npos &&
                                  name.find(".b_") == std::string::npos;  // weights and biases: their own
    if (!activation_scale) continue;
    ++activations;
    ASSERT_TRUE(q.count(name)) << name;
    EXPECT_EQ(test::values_of<float>(q.at(name)), test::values_of<float>(scale)) << name;
  }
  EXPECT_GE(activations, 4);
}

// A layer's input on an INT8 grid: with a step far above every value, all of it rounds to 0, so
// the layer's Hessian is 0 where without rounding it is not.
TEST(LayerwiseCalibration, LayersSeeTheirInputsOnTheGridsGiven) {
  onnx::ModelProto model;
  ASSERT_TRUE(model.ParseFromString(test::small_pruning_model()));
  compression::PruneOptions options;
  options.calibration_images = calibration_images(2);
  compression::CalibrationInputs inputs = compression::load_calibration_inputs(model, options);
  int c3 = 0;
  while (model.graph().node(c3).input(0) != "c2.m") ++c3;
  compression::U8Grid coarse;
  coarse.scale = 1e6f;
  for (bool rounded : {false, true}) {
    if (rounded) inputs.rounded_to["c2.m"] = coarse;
    double energy = -1;
    compression::visit_layers_in_order(model, {c3}, inputs, options, compression::DenseInputs::kSkip,
                                       [&](size_t, const compression::LayerHessian& h) { energy = h.hessian().trace(); });
    if (rounded) {
      EXPECT_EQ(energy, 0);
    } else {
      EXPECT_GT(energy, 0);
    }
  }
}

TEST(ObsPruning, BadInputIsAnErrorThatSaysSo) {
  const std::string in = model_file(), out = test::temp_path("obs_err.onnx");
  auto options = obs_options(0.5, 1);
  options.prune->calibration_images.clear();
  test::expect_error([&] { compression::compress(in, out, options); }, ErrorCode::kInvalidArgument,
                     {"--method obs needs calibration images"});
  test::expect_error([] { compression::parse_prune_method("optimal"); }, ErrorCode::kInvalidArgument,
                     {"unknown pruning method 'optimal'", "magnitude, obs or lowrank"});
  EXPECT_EQ(compression::parse_prune_method("obs"), compression::PruneMethod::kObs);
  options.prune->calibration_images = {test::temp_path("missing.png")};
  EXPECT_THROW(compression::compress(in, out, options), Error);
}

}  // namespace
}  // namespace sparrow
