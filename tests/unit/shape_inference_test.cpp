// Sparrow's shape inference agrees with ONNX's own (libonnx) on every value of real models.
// ONNX's inference only runs here, on trusted files: see onnx_importer.cpp for why.
#include <gtest/gtest.h>

#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <fstream>
#include <map>
#include <sstream>

#include "onnx/onnx_importer.h"
#include "passes/passes.h"
#include "support/test_support.h"

namespace sparrow {
namespace {

// Every fully static shape ONNX infers for the model's values, by name.
std::map<std::string, Shape> onnx_shapes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  onnx::ModelProto model;
  EXPECT_TRUE(model.ParseFromString(s.str()));
  onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(), onnx::ShapeInferenceOptions(true, 1, true));
  std::map<std::string, Shape> shapes;
  auto add = [&](const onnx::ValueInfoProto& info) {
    Shape shape;
    for (const auto& d : info.type().tensor_type().shape().dim()) {
      if (!d.has_dim_value()) return;
      shape.push_back(d.dim_value());
    }
    if (info.type().tensor_type().has_shape()) shapes[info.name()] = shape;
  };
  for (const auto& v : model.graph().value_info()) add(v);
  for (const auto& v : model.graph().output()) add(v);
  return shapes;
}

void expect_same_shapes(const std::string& path) {
  if (!test::require_file(path)) GTEST_SKIP() << path;
  const std::map<std::string, Shape> expected = onnx_shapes(path);
  graph::Graph g = onnx_import::import_model_file(path);
  passes::infer_and_fold(g, passes::bind_inputs(g, {}));
  int compared = 0;
  for (const graph::Value& v : g.values) {
    auto it = expected.find(v.name);
    if (it == expected.end()) continue;
    EXPECT_EQ(v.shape, it->second) << v.name;
    ++compared;
  }
  EXPECT_GT(compared, 100) << "too few values to compare";
}

TEST(ShapeInference, MatchesOnnxOnYolov5n) { expect_same_shapes(test::shared_path("models/yolov5n.onnx")); }

}  // namespace
}  // namespace sparrow
