// sparrow::compression::quantize_int8 end to end on a small YOLO-shaped model, its plan, its
// activation grids, the broadcast-constant factoring and its errors.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <random>

#include "compression/activation_range.h"
#include "compression/broadcast_constants.h"
#include "compression/quantization_plan.h"
#include "sparrow/compression/quantize.h"
#include "sparrow/engine.h"
#include "support/onnx_builder.h"
#include "support/test_support.h"

namespace sparrow {
namespace {

namespace fs = std::filesystem;
using compression::CalibrationMethod;
using test::Attr;
using test::OnnxBuilder;

const Shape kInput = {1, 3, 16, 16};

// images -> Conv+SiLU -> MaxPool -> Conv+SiLU, residual Add, Concat, head Conv -> Sigmoid.
std::string yolo_like_model() {
  OnnxBuilder b(13);
  b.input("images", DType::kFloat32, kInput);
  test::conv_silu(b, "c1", "images", 3, 8, 3, 1);
  b.node("MaxPool", {"c1.m"}, {"p1"}, {Attr::Ints("kernel_shape", {3, 3}), Attr::Ints("pads", {1, 1, 1, 1})}, "pool");
  test::conv_silu(b, "c2", "p1", 8, 8, 1, 3);
  b.node("Add", {"c1.m", "c2.m"}, {"a"}, {}, "add");
  b.node("Concat", {"a", "p1"}, {"cat"}, {Attr::Int("axis", 1)}, "concat");
  b.initializer("h.w", test::random_tensor({6, 16, 1, 1}, 5, -0.5f, 0.5f));
  b.node("Conv", {"cat", "h.w"}, {"h"}, {}, "head/Conv");
  b.node("Sigmoid", {"h"}, {"output"}, {}, "head/Sigmoid");
  b.output("output");
  return b.bytes();
}

onnx::GraphProto graph_of(const std::string& bytes) {
  onnx::ModelProto m;
  EXPECT_TRUE(m.ParseFromString(bytes));
  return m.graph();
}

// A folder of `n` random images of various sizes.
std::string calibration_folder(int n) {
  return fs::path(test::random_images("compression_calibration_" + std::to_string(n), n)[0]).parent_path().string();
}

compression::QuantizeOptions options_for(int images, CalibrationMethod method = CalibrationMethod::kPercentile) {
  compression::QuantizeOptions o;
  for (const auto& entry : fs::directory_iterator(calibration_folder(images))) o.calibration.images.push_back(entry.path());
  o.calibration.method = method;
  o.calibration_source = "random";
  return o;
}

std::string write_model(const std::string& name, const std::string& bytes) {
  const std::string path = test::temp_path(name);
  test::write_file(path, bytes);
  return path;
}

int layers_on(const Engine& e, const std::string& kernel_prefix) {
  int n = 0;
  for (const LayerInfo& l : e.describe().layers) n += l.kernel.rfind(kernel_prefix, 0) == 0;
  return n;
}

TEST(QuantizationPlan, QuantizesConvsAndWhatKeepsTheirOutputsEightBit) {
  const compression::QuantizationPlan plan = compression::plan_quantization(graph_of(yolo_like_model()), {});
  EXPECT_EQ(plan.int8_convs.size(), 2u);
  ASSERT_EQ(plan.weight_only_convs.size(), 1u);
  EXPECT_EQ(plan.float_convs, std::vector<std::string>{"head/Conv"});
  // SiLU is quantized once, at its Mul: no grid for c1.s and c2.s.
  const std::vector<std::string> calibrated = {"images", "c1", "c1.m", "c2", "c2.m", "a", "cat"};
  EXPECT_EQ(plan.calibrated, calibrated);
  EXPECT_EQ(plan.shares_grid_of.at("p1"), "c1.m");
  EXPECT_EQ(plan.shares_grid_of.count("output"), 0u);
}

// A sigmoid read by anything but its input's Mul is an 8-bit tensor of its own.
TEST(QuantizationPlan, ASigmoidThatIsNotSiluGetsItsOwnGrid) {
  OnnxBuilder b(13);
  b.input("images", DType::kFloat32, kInput);
  test::conv_silu(b, "c1", "images", 3, 8, 3, 1);
  b.node("Add", {"c1.s", "c1.m"}, {"a"}, {}, "add");
  test::conv_silu(b, "c2", "a", 8, 8, 1, 3);
  b.initializer("h.w", test::random_tensor({6, 8, 1, 1}, 5, -0.5f, 0.5f));
  b.node("Conv", {"c2.m", "h.w"}, {"output"}, {}, "head/Conv");
  b.output("output");
  const compression::QuantizationPlan plan = compression::plan_quantization(graph_of(b.bytes()), {});
  const std::vector<std::string> calibrated = {"images", "c1", "c1.s", "c1.m", "a", "c2", "c2.m"};
  EXPECT_EQ(plan.calibrated, calibrated);
}

TEST(QuantizationPlan, ExcludedConvsStayFloatAndUnknownNamesAreErrors) {
  const auto plan = compression::plan_quantization(graph_of(yolo_like_model()), {"c2/Conv"});
  EXPECT_EQ(plan.int8_convs.size(), 1u);
  EXPECT_EQ(plan.float_convs, (std::vector<std::string>{"c2/Conv", "head/Conv"}));
  test::expect_error([] { compression::plan_quantization(graph_of(yolo_like_model()), {"nope"}); }, ErrorCode::kNotFound,
                     {"no node named 'nope'"});
  // A glob names every node it matches: c2/* keeps c2/Conv float as its name did.
  EXPECT_EQ(compression::plan_quantization(graph_of(yolo_like_model()), {"c2/*"}).float_convs, plan.float_convs);
  test::expect_error([] { compression::plan_quantization(graph_of(yolo_like_model()), {"c9*"}); }, ErrorCode::kNotFound,
                     {"no node name matches 'c9*' to exclude"});
}

TEST(ActivationRange, GridsHoldZeroAndNeverHaveAZeroScale) {
  const auto positive = compression::u8_grid(0.5f, 2.0f);
  EXPECT_EQ(positive.min, 0.0f);
  EXPECT_EQ(positive.zero_point, 0);
  EXPECT_FLOAT_EQ(positive.scale, 2.0f / 255);
  const auto centred = compression::u8_grid(-1.0f, 1.0f);
  EXPECT_NEAR(-centred.zero_point * centred.scale, -1.0f, centred.scale);
  EXPECT_NEAR((255 - centred.zero_point) * centred.scale, 1.0f, centred.scale);
  EXPECT_EQ(compression::u8_grid(0, 0).scale, 1.0f);
}

TEST(ActivationRange, PercentileAndMseClipOutliersMinMaxKeepsThem) {
  std::vector<float> values(300000);  // 99.999 % leaves out 1.5 values at each end: the outlier
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  for (float& v : values) v = uniform(rng);
  values[17] = 100.0f;
  compression::Histogram h(0.0f, 100.0f);
  h.add(values.data(), values.size());
  EXPECT_EQ(compression::choose_grid(CalibrationMethod::kMinMax, 0, 100, &h).max, 100.0f);
  EXPECT_LT(compression::choose_grid(CalibrationMethod::kPercentile, 0, 100, &h).max, 1.2f);
  // The squared error of 300000 values on a coarse grid outweighs one clipped outlier's only so far.
  const float mse_max = compression::choose_grid(CalibrationMethod::kMse, 0, 100, &h).max;
  EXPECT_LT(mse_max, 90.0f);
  EXPECT_GT(mse_max, 1.0f);
}

TEST(Compression, QuantizedModelTracksTheFloatOneAndRunsOnInt8Kernels) {
  const std::string float_path = write_model("compress_float.onnx", yolo_like_model());
  const std::string int8_path = test::temp_path("compress_int8.onnx");
  for (CalibrationMethod method : {CalibrationMethod::kMinMax, CalibrationMethod::kPercentile, CalibrationMethod::kMse}) {
    const auto report = compression::quantize_int8(float_path, int8_path, options_for(4, method));
    EXPECT_EQ(report.opset, 13);
    const Engine f = Engine::load(float_path), q = Engine::load(int8_path);
    EXPECT_EQ(layers_on(q, "qu8-conv"), 2) << compression::calibration_method_name(method);
    // The head conv, whose output stays float (kFloatOutputAttr), reads the u8 bytes too.
    EXPECT_EQ(layers_on(q, "qu8-f32-conv"), 1) << compression::calibration_method_name(method);
    const Tensor x = test::random_tensor(kInput, 11, 0.0f, 1.0f);
    EXPECT_TRUE(test::all_close(q.run({x})[0], f.run({x})[0], 0, 0.05)) << compression::calibration_method_name(method);
    // The INT8 kernels (convs, lookups, the residual add in the convs' NHWC) against the plain
    // reference of the same file: equal but for rounding ties.
    CompileOptions reference;
    reference.optimized_kernels = false;
    EXPECT_TRUE(test::all_close(q.run({x})[0], Engine::load(int8_path, reference).run({x})[0], 0, 0.01));
    const std::string meta = q.metadata().at("sparrow.compression");
    EXPECT_NE(meta.find(compression::calibration_method_name(method)), std::string::npos) << meta;
    EXPECT_NE(meta.find("\"calibration_images\":4"), std::string::npos) << meta;
  }
}

TEST(Compression, RefusesQuantizedModelsAndMissingInputs) {
  const std::string float_path = write_model("compress_float2.onnx", yolo_like_model());
  const std::string int8_path = test::temp_path("compress_int8_2.onnx");
  compression::quantize_int8(float_path, int8_path, options_for(2));
  test::expect_error([&] { compression::quantize_int8(int8_path, test::temp_path("twice.onnx"), options_for(2)); },
                     ErrorCode::kInvalidArgument, {"quantized already", "give --int8 a float model"});
  test::expect_error([&] { compression::quantize_int8(float_path, int8_path, {}); }, ErrorCode::kInvalidArgument,
                     {"no calibration images"});
  test::expect_error([&] { compression::quantize_int8("/nonexistent/m.onnx", int8_path, options_for(2)); },
                     ErrorCode::kNotFound, {"/nonexistent/m.onnx", "does not exist"});
  const std::string garbage = write_model("compress_garbage.onnx", "not a model");
  test::expect_error([&] { compression::quantize_int8(garbage, int8_path, options_for(2)); }, ErrorCode::kInvalidModel,
                     {"compress_garbage.onnx", "not a valid ONNX protobuf"});
  test::expect_error([] { compression::parse_calibration_method("kmeans"); }, ErrorCode::kInvalidArgument,
                     {"'kmeans'", "minmax, percentile or mse"});
}

TEST(BroadcastConstants, ABroadcastConstantBecomesASmallOneAndAnExpandWithTheSameResult) {
  Tensor anchors(DType::kFloat32, {1, 3, 16, 16, 2});
  for (int64_t i = 0; i < anchors.size(); ++i) anchors.data_as<float>()[i] = static_cast<float>((i / 512) * 10 + i % 2);
  OnnxBuilder b(13);
  b.input("x", DType::kFloat32, {1, 3, 16, 16, 2});
  b.node("Constant", {}, {"anchors"}, {Attr::TensorValue("value", anchors)});
  b.node("Mul", {"x", "anchors"}, {"y"});
  b.output("y");
  onnx::ModelProto m;
  ASSERT_TRUE(m.ParseFromString(b.bytes()));
  compression::factor_broadcast_constants(*m.mutable_graph());
  ASSERT_EQ(m.graph().node_size(), 4);
  EXPECT_EQ(m.graph().node(2).op_type(), "Expand");
  EXPECT_EQ(m.graph().node(0).attribute(0).t().dims_size(), 5);
  EXPECT_EQ(m.graph().node(0).attribute(0).t().raw_data().size(), 6 * sizeof(float));  // 1x3x1x1x2
  const Tensor x = test::random_tensor({1, 3, 16, 16, 2}, 2);
  EXPECT_TRUE(test::all_close(Engine::load_from_bytes(m.SerializeAsString()).run({x})[0],
                              Engine::load_from_bytes(b.bytes()).run({x})[0], 0, 0));
}

}  // namespace
}  // namespace sparrow
