// The YOLO pipeline end to end on the official yolov5n: golden detections on the sample images
// and COCO mAP on coco128 within the reference band.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <opencv2/imgcodecs.hpp>

#include "sparrow/yolo/detector.h"
#include "support/onnx_builder.h"
#include "support/test_support.h"

namespace sparrow::yolo {
namespace {

struct Expected {
  std::string name;
  float score;
  float x1, y1, x2, y2;
};

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// The table in ../shared/reference.md (square 640 letterbox, conf 0.25, IoU 0.45).
void expect_golden(const Detector& detector, const std::string& image, const std::vector<Expected>& expected) {
  const ImageDetections r = detector.detect_encoded({read_file(test::shared_path("data/images/" + image))}).at(0);
  ASSERT_EQ(r.detections.size(), expected.size()) << image;
  std::vector<bool> used(expected.size(), false);
  for (const Detection& d : r.detections) {
    bool matched = false;
    for (size_t i = 0; i < expected.size() && !matched; ++i) {
      const Expected& e = expected[i];
      if (used[i] || detector.class_names()[d.class_id] != e.name || std::abs(d.score - e.score) > 0.01f) continue;
      // Reference boxes are rounded to whole pixels: within 2 px of the rounded value.
      if (std::abs(d.x1 - e.x1) <= 2.5f && std::abs(d.y1 - e.y1) <= 2.5f && std::abs(d.x2 - e.x2) <= 2.5f &&
          std::abs(d.y2 - e.y2) <= 2.5f) {
        used[i] = matched = true;
      }
    }
    EXPECT_TRUE(matched) << image << ": unexpected " << detector.class_names()[d.class_id] << " " << d.score << " [" << d.x1
                         << ", " << d.y1 << ", " << d.x2 << ", " << d.y2 << "]";
  }
}

TEST(YoloPipeline, GoldenDetectionsOnSampleImages) {
  const std::string model = test::shared_path("models/yolov5n.onnx");
  if (!test::require_file(model)) GTEST_SKIP();
  const Detector detector(model);
  expect_golden(detector, "bus.jpg",
                {{"bus", 0.526f, 49, 237, 810, 772},
                 {"person", 0.676f, 681, 377, 810, 870},
                 {"person", 0.816f, 52, 399, 207, 895},
                 {"person", 0.823f, 219, 408, 349, 863}});
  expect_golden(detector, "zidane.jpg",
                {{"tie", 0.271f, 438, 434, 504, 711}, {"person", 0.368f, 136, 181, 739, 720}, {"person", 0.790f, 742, 40, 1154, 716}});
}

// Batching must not change detections: 2 images in one batch-2 call equal two batch-1 calls.
TEST(YoloPipeline, BatchedDetectionEqualsSingle) {
  const std::string model = test::shared_path("models/yolov5n.onnx");
  if (!test::require_file(model)) GTEST_SKIP();
  DetectorOptions two;
  two.compile.batch_size = 2;
  const Detector single(model), batched(model, two);
  const std::vector<std::string> images = {read_file(test::shared_path("data/images/bus.jpg")),
                                           read_file(test::shared_path("data/images/zidane.jpg")),
                                           read_file(test::shared_path("data/images/bus.jpg"))};
  Timings timings;
  const auto b = batched.detect_encoded(images, &timings);  // 2 + a padded batch of 1
  ASSERT_EQ(b.size(), 3u);
  EXPECT_GT(timings.inference_ms, 0);
  EXPECT_GT(timings.decode_ms, 0);
  for (size_t i = 0; i < images.size(); ++i) {
    const auto s = single.detect_encoded({images[i]}).at(0);
    ASSERT_EQ(s.detections.size(), b[i].detections.size()) << i;
    for (size_t k = 0; k < s.detections.size(); ++k) {
      EXPECT_NEAR(s.detections[k].score, b[i].detections[k].score, 1e-4) << i;
      EXPECT_NEAR(s.detections[k].x1, b[i].detections[k].x1, 0.05) << i;
    }
  }
}

TEST(YoloPipeline, BadImagesNameTheirIndex) {
  const std::string model = test::shared_path("models/yolov5n.onnx");
  if (!test::require_file(model)) GTEST_SKIP();
  const Detector detector(model);
  try {
    detector.detect_encoded({read_file(test::shared_path("data/images/bus.jpg")), "not an image"});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("image 1"), std::string::npos) << e.what();
  }
}

TEST(YoloPipeline, RejectsNonYoloModels) {
  // An image model whose output is not N x anchors x (5 + classes).
  test::OnnxBuilder b;
  b.input("images", DType::kFloat32, {1, 3, 32, 32}).node("Relu", {"images"}, {"y"}).output("y");
  const std::string path = std::string(SPARROW_GENERATED_MODELS) + "/not_yolo.onnx";
  std::ofstream(path, std::ios::binary) << b.bytes();
  try {
    Detector{path};
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a YOLOv5 detection export"), std::string::npos) << e.what();
  }
}

// A tiny detector (one 8x8-strided conv, 64 boxes of 1 class), fed bytes or floats.
std::string tiny_detector(bool byte_input) {
  test::OnnxBuilder b;
  b.input("images", byte_input ? DType::kUint8 : DType::kFloat32, {1, 3, 64, 64});
  b.initializer("w", test::random_tensor({6, 3, 8, 8}, 4, -0.2f, 0.2f));
  b.initializer("unit", Tensor::scalar<float>(1.0f / 255.0f));  // kUnitScale, as unit_floats() scales
  b.initializer("shape", Tensor::from_vector<int64_t>({3}, {1, 6, 64}));
  b.initializer("pixels", Tensor::from_vector<float>({6}, {64, 64, 64, 64, 1, 1}));
  std::string x = "images";
  if (byte_input) {
    b.node("Cast", {"images"}, {"f"}, {test::Attr::Int("to", 1)}).node("Mul", {"f", "unit"}, {"x"});
    x = "x";
  }
  b.node("Conv", {x, "w"}, {"c"}, {test::Attr::Ints("strides", {8, 8})}).node("Reshape", {"c", "shape"}, {"r"});
  b.node("Transpose", {"r"}, {"t"}, {test::Attr::Ints("perm", {0, 2, 1})}).node("Sigmoid", {"t"}, {"s"});
  b.node("Mul", {"s", "pixels"}, {"output"}).output("output");
  const std::string path = std::string(SPARROW_GENERATED_MODELS) + (byte_input ? "/tiny_u8.onnx" : "/tiny_f32.onnx");
  std::ofstream(path, std::ios::binary) << b.bytes();
  return path;
}

TEST(YoloPipeline, Uint8InputModelsGetTheLetterboxedBytes) {
  const Detector bytes(tiny_detector(true)), floats(tiny_detector(false));
  EXPECT_TRUE(bytes.takes_bytes());
  EXPECT_FALSE(floats.takes_bytes());
  const cv::Mat bus = cv::imread(test::shared_path("data/images/bus.jpg"), cv::IMREAD_COLOR);
  NmsOptions nms;
  nms.conf_threshold = 0.01f;
  const auto a = bytes.detect({bus}, nullptr, &nms)[0].detections, b = floats.detect({bus}, nullptr, &nms)[0].detections;
  ASSERT_FALSE(a.empty());
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].score, b[i].score) << i;
    EXPECT_EQ(a[i].x1, b[i].x1) << i;
    EXPECT_EQ(a[i].y2, b[i].y2) << i;
  }
}

// `sparrow eval` on coco128 reproduces the reference pipeline's pycocotools figures.
TEST(YoloPipeline, Coco128MapWithinReferenceBand) {
  const std::string model = test::shared_path("models/yolov5n.onnx");
  const std::string data = test::shared_path("data/coco128");
  if (!test::require_file(model) || !test::require_file(data + "/data.yaml")) GTEST_SKIP();
  const std::string out = std::string(SPARROW_GENERATED_MODELS) + "/eval_coco128.txt";
  const std::string command = std::string(SPARROW_CLI) + " eval " + model + " --data " + data + " --results-json " +
                              SPARROW_GENERATED_MODELS + "/coco128_results.json > " + out + " 2>/dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  const std::string report = read_file(out);
  double ap = -1, ap50 = -1;
  std::istringstream lines(report);
  for (std::string line; std::getline(lines, line);) {
    double v = 0;
    const size_t eq = line.rfind("= ");
    if (eq == std::string::npos || std::sscanf(line.c_str() + eq + 2, "%lf", &v) != 1) continue;
    if (line.find("(AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]") != std::string::npos) ap = v;
    if (line.find("(AP) @[ IoU=0.50      | area=   all | maxDets=100 ]") != std::string::npos) ap50 = v;
  }
  EXPECT_NEAR(ap, 0.360, 0.005) << report;
  EXPECT_NEAR(ap50, 0.552, 0.005) << report;
}

}  // namespace
}  // namespace sparrow::yolo
