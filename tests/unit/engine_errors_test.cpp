// Bad input to the engine: every case must raise a sparrow::Error that says what failed, never
// crash and never return a wrong answer.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "sparrow/engine.h"
#include "support/onnx_builder.h"
#include "support/test_support.h"

namespace sparrow {
namespace {

using test::Attr;
using test::OnnxBuilder;

using test::expect_error;
using test::read_binary_file;
using test::temp_path;
using test::write_file;

std::string small_conv_model() {
  OnnxBuilder b;
  b.input("x", DType::kFloat32, {1, 3, 8, 8});
  b.initializer("w", test::random_tensor({4, 3, 3, 3}, 1));
  b.node("Conv", {"x", "w"}, {"y"}, {Attr::Ints("pads", {1, 1, 1, 1})}, "my_conv").output("y");
  return b.bytes();
}

TEST(EngineErrors, MissingFile) {
  expect_error([] { Engine::load("/nonexistent/model.onnx"); }, ErrorCode::kNotFound, {"/nonexistent/model.onnx", "does not exist"});
}

TEST(EngineErrors, DirectoryInsteadOfFile) {
  expect_error([] { Engine::load("/tmp"); }, ErrorCode::kInvalidArgument, {"directory"});
}

TEST(EngineErrors, EmptyFile) {
  const std::string path = temp_path("empty.onnx");
  write_file(path, "");
  expect_error([&] { Engine::load(path); }, ErrorCode::kInvalidModel, {path, "empty"});
}

TEST(EngineErrors, TruncatedModel) {
  const std::string model = test::shared_path("models/yolov5n.onnx");
  if (!test::require_file(model)) GTEST_SKIP();
  const std::string bytes = read_binary_file(model);
  for (size_t keep : {size_t{10}, bytes.size() / 2, bytes.size() - 100}) {
    expect_error([&] { Engine::load_from_bytes(bytes.substr(0, keep)); }, ErrorCode::kInvalidModel, {"ONNX"});
  }
}

TEST(EngineErrors, NotAProtobuf) {
  expect_error([] { Engine::load_from_bytes("this is plain text, not a model"); }, ErrorCode::kInvalidModel, {"ONNX"});
}

// Flipped bits either leave a loadable model (a changed weight) or give a clean error.
TEST(EngineErrors, BitFlippedModelNeverCrashes) {
  const std::string bytes = small_conv_model();
  std::mt19937_64 rng(7);
  int errors = 0;
  for (int trial = 0; trial < 200; ++trial) {
    std::string corrupt = bytes;
    for (int k = 0; k < 3; ++k) corrupt[rng() % corrupt.size()] ^= static_cast<char>(1u << (rng() % 8));
    try {
      Engine e = Engine::load_from_bytes(corrupt);
      std::vector<Tensor> inputs;
      for (const TensorSpec& spec : e.inputs()) inputs.emplace_back(spec.dtype, spec.shape);
      e.run(inputs);
    } catch (const Error&) {
      ++errors;
    }
  }
  EXPECT_GT(errors, 0) << "no corruption was detected at all";
}

TEST(EngineErrors, UnsupportedOpNamesNodeAndOp) {
  OnnxBuilder b;
  b.input("x", DType::kFloat32, {1, 10});
  b.node("Softmax", {"x"}, {"y"}, {}, "classifier_softmax").output("y");
  expect_error([&] { Engine::load_from_bytes(b.bytes()); }, ErrorCode::kUnsupported, {"classifier_softmax", "Softmax"});
}

TEST(EngineErrors, UnsupportedAttributeValue) {
  OnnxBuilder b;
  b.input("x", DType::kFloat32, {1, 1, 4, 4});
  b.initializer("scales", Tensor::from_vector<float>({4}, {1, 1, 2, 2}));
  b.node("Resize", {"x", "", "scales"}, {"y"}, {Attr::String("mode", "cubic")}, "upsample_cubic").output("y");
  expect_error([&] { Engine::load_from_bytes(b.bytes()); }, ErrorCode::kUnsupported, {"upsample_cubic", "cubic"});
}

TEST(EngineErrors, UnsupportedOpset) {
  OnnxBuilder b(5);
  b.input("x", DType::kFloat32, {1, 4}).node("Relu", {"x"}, {"y"}).output("y");
  expect_error([&] { Engine::load_from_bytes(b.bytes()); }, ErrorCode::kUnsupported, {"opset 5"});
}

TEST(EngineErrors, UndefinedWeights) {
  OnnxBuilder b;
  b.input("x", DType::kFloat32, {1, 3, 8, 8});
  b.node("Conv", {"x", "missing_weight"}, {"y"}, {}, "conv_without_weights").output("y", DType::kFloat32, {1, 4, 6, 6});
  expect_error([&] { Engine::load_from_bytes(b.bytes()); }, ErrorCode::kInvalidModel, {"missing_weight"});
}

TEST(EngineErrors, ExternalWeightsFileMissing) {
  const Tensor w = test::random_tensor({4, 3, 3, 3}, 1);
  OnnxBuilder b;
  b.input("x", DType::kFloat32, {1, 3, 8, 8});
  b.external_initializer("w", w, "conv_weights.bin");
  b.node("Conv", {"x", "w"}, {"y"}).output("y");
  const std::string dir = temp_path("external");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string model = dir + "/model.onnx";
  write_file(model, b.bytes());
  expect_error([&] { Engine::load(model); }, ErrorCode::kNotFound, {"initializer 'w'", "conv_weights.bin"});
  expect_error([&] { Engine::load_from_bytes(b.bytes()); }, ErrorCode::kInvalidModel, {"conv_weights.bin"});

  write_file(dir + "/conv_weights.bin", std::string(static_cast<const char*>(w.data()), w.bytes() / 2));
  expect_error([&] { Engine::load(model); }, ErrorCode::kInvalidModel, {"too short"});

  // With the file in place the model loads and computes what the inline model computes.
  write_file(dir + "/conv_weights.bin", std::string(static_cast<const char*>(w.data()), w.bytes()));
  OnnxBuilder inline_model;
  inline_model.input("x", DType::kFloat32, {1, 3, 8, 8}).initializer("w", w).node("Conv", {"x", "w"}, {"y"}).output("y");
  const Tensor x = test::random_tensor({1, 3, 8, 8}, 2);
  EXPECT_TRUE(test::all_close(Engine::load(model).run({x})[0], Engine::load_from_bytes(inline_model.bytes()).run({x})[0], 0, 0));
}

TEST(EngineErrors, WrongInputShapeDtypeAndCountAtRun) {
  const Engine e = Engine::load_from_bytes(small_conv_model());
  expect_error([&] { e.run({Tensor(DType::kFloat32, {1, 3, 9, 8})}); }, ErrorCode::kInvalidArgument, {"'x'", "1x3x8x8", "1x3x9x8"});
  expect_error([&] { e.run({Tensor(DType::kUint8, {1, 3, 8, 8})}); }, ErrorCode::kInvalidArgument, {"float32", "uint8"});
  expect_error([&] { e.run({}); }, ErrorCode::kInvalidArgument, {"1 input"});
  expect_error([&] { e.run({Tensor()}); }, ErrorCode::kInvalidArgument, {"'x'"});
}

TEST(EngineErrors, BatchSizeOutOfRange) {
  CompileOptions o;
  o.batch_size = -1;
  expect_error([&] { Engine::load_from_bytes(small_conv_model(), o); }, ErrorCode::kInvalidArgument, {"batch size -1"});
  o.batch_size = 10'000'000;
  expect_error([&] { Engine::load_from_bytes(small_conv_model(), o); }, ErrorCode::kInvalidArgument, {"batch size 10000000"});
}

TEST(EngineErrors, BatchTooLargeForMemory) {
  CompileOptions o;
  o.batch_size = 60000;
  o.max_memory_bytes = size_t{64} << 20;
  expect_error([&] { Engine::load_from_bytes(small_conv_model(), o); }, ErrorCode::kResourceExhausted,
               {"batch size 60000", "GiB", "more than the 0.06 GiB", "smaller batch or input size"});
}

// An input larger than the memory a run may use is refused before any kernel is made for it:
// oneDNN spent 13 s of CPU creating conv primitives for this shape before the plan's memory
// check refused it, naming neither the input nor its size.
TEST(EngineErrors, AbsurdInputSizeIsRefusedByName) {
  const std::string model = test::shared_path("models/yolov5n-dynamic.onnx");
  if (!test::require_file(model)) GTEST_SKIP();
  CompileOptions o;
  o.input_shapes["images"] = {1, 3, 100000, 100000};
  expect_error([&] { Engine::load(model, o); }, ErrorCode::kResourceExhausted,
               {"input 'images'", "1x3x100000x100000", "111.76 GiB", "smaller"});
}

// The same for a value the model computes, named with the node that makes it.
TEST(EngineErrors, AbsurdIntermediateSizeIsRefusedByNode) {
  OnnxBuilder b;
  b.input("x", DType::kFloat32, {1, 1, 1, 1});
  b.initializer("shape", Tensor::from_vector<int64_t>({4}, {1, 1, 100000, 100000}));
  b.node("Expand", {"x", "shape"}, {"big"}, {}, "huge_expand").node("Relu", {"big"}, {"y"}).output("y");
  CompileOptions o;
  o.max_memory_bytes = size_t{1} << 30;
  expect_error([&] { Engine::load_from_bytes(b.bytes(), o); }, ErrorCode::kResourceExhausted,
               {"node 'huge_expand' (Expand)", "'big'", "1x1x100000x100000", "37.25 GiB", "1.00 GiB"});
}

// A dynamic image height and width default to ultralytics' 640 (given sizes win); any other
// dynamic dim still needs a size.
TEST(EngineErrors, DynamicDimsNeedASizeButImagesDefaultTo640) {
  OnnxBuilder image;
  image.input("images", DType::kFloat32, {-1, 3, -1, -1}).node("Relu", {"images"}, {"y"}).output("y");
  EXPECT_EQ(Engine::load_from_bytes(image.bytes()).inputs()[0].shape, (Shape{1, 3, 640, 640}));
  CompileOptions o;
  o.height = o.width = 32;
  EXPECT_EQ(Engine::load_from_bytes(image.bytes(), o).inputs()[0].shape, (Shape{1, 3, 32, 32}));
  OnnxBuilder vector;
  vector.input("x", DType::kFloat32, {1, -1}).node("Relu", {"x"}, {"y"}).output("y");
  expect_error([&] { Engine::load_from_bytes(vector.bytes()); }, ErrorCode::kInvalidArgument, {"'x'", "dynamic"});
}

TEST(EngineErrors, InputShapeForUnknownInput) {
  CompileOptions o;
  o.input_shapes["nope"] = {1, 2};
  expect_error([&] { Engine::load_from_bytes(small_conv_model(), o); }, ErrorCode::kInvalidArgument, {"'nope'"});
}

TEST(EngineErrors, IncompatibleShapesInModel) {
  OnnxBuilder b;
  b.input("x", DType::kFloat32, {1, 4});
  b.initializer("w", test::random_tensor({3}, 1));
  b.node("Add", {"x", "w"}, {"y"}, {}, "bad_add").output("y");
  try {
    Engine::load_from_bytes(b.bytes());
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidModel) << e.what();
  }
}

}  // namespace
}  // namespace sparrow
