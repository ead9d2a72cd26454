// The full output (1x25200x85 at 640 for three heads) of real YOLOv5 graphs matches OpenCV DNN
// (an independent ONNX implementation) on letterboxed sample images, at batch 1 and batch 4.
#include <gtest/gtest.h>

#include <opencv2/dnn.hpp>
#include <opencv2/imgcodecs.hpp>

#include "sparrow/engine.h"
#include "sparrow/yolo/letterbox.h"
#include "support/test_support.h"

namespace sparrow {
namespace {

// The acceptance bound: 1e-3 relative on every element, with no absolute floor.
constexpr double kRtol = 1e-3;
constexpr double kAtol = 0;

Tensor letterboxed(const std::vector<std::string>& images) {
  Tensor t(DType::kFloat32, {static_cast<int64_t>(images.size()), 3, 640, 640});
  for (size_t i = 0; i < images.size(); ++i) {
    cv::Mat bgr = cv::imread(test::shared_path("data/images/" + images[i]), cv::IMREAD_COLOR);
    EXPECT_FALSE(bgr.empty()) << images[i];
    yolo::letterbox(bgr, 640, 640, t.data_as<float>() + i * 3 * 640 * 640);
  }
  return t;
}

// OpenCV DNN on one image (its importer fixes batch 1 for these graphs).
Tensor opencv_output(const std::string& model, const Tensor& batch, int64_t item) {
  cv::dnn::Net net = cv::dnn::readNetFromONNX(model);
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  int dims[4] = {1, 3, 640, 640};
  cv::Mat blob(4, dims, CV_32F, const_cast<float*>(batch.data_as<float>()) + item * 3 * 640 * 640);
  net.setInput(blob);
  cv::Mat out = net.forward();
  Tensor t(DType::kFloat32, {1, out.size[1], out.size[2]});
  std::memcpy(t.data(), out.ptr<float>(), t.bytes());
  return t;
}

void expect_matches_opencv(const std::string& model, const std::vector<std::string>& images, int64_t batch) {
  if (!test::require_file(model)) GTEST_SKIP() << model << " missing";
  std::vector<std::string> batch_images;
  for (int64_t i = 0; i < batch; ++i) batch_images.push_back(images[i % images.size()]);
  const Tensor input = letterboxed(batch_images);
  CompileOptions options;
  options.batch_size = batch;
  const Engine engine = Engine::load(model, options);
  const std::vector<Tensor> out = engine.run({input});
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].rank(), 3);
  ASSERT_EQ(out[0].shape()[0], batch);
  for (int64_t i = 0; i < batch; ++i) {
    const Tensor expected = opencv_output(model, input, i);
    ASSERT_EQ(expected.shape(), (Shape{1, out[0].shape()[1], out[0].shape()[2]}));
    EXPECT_TRUE(test::all_close(out[0].data_as<float>() + i * expected.size(), expected.data_as<float>(), expected.size(), kRtol, kAtol))
        << "batch item " << i << " (" << batch_images[i] << ")";
  }
}

TEST(Yolov5VsOpenCV, Yolov5nBatch1) {
  expect_matches_opencv(test::shared_path("models/yolov5n.onnx"), {"bus.jpg"}, 1);
  expect_matches_opencv(test::shared_path("models/yolov5n.onnx"), {"zidane.jpg"}, 1);
}

TEST(Yolov5VsOpenCV, Yolov5nBatch4RewritesHardcodedBatch) {
  expect_matches_opencv(test::shared_path("models/yolov5n.onnx"), {"bus.jpg", "zidane.jpg"}, 4);
}

// yolov5s with seeded random weights from benchmarks/models/gen_yolov5.py (a ctest fixture).
TEST(Yolov5VsOpenCV, GeneratedYolov5sBatch1And4) {
  const std::string model = std::string(SPARROW_GENERATED_MODELS) + "/yolov5s.onnx";
  expect_matches_opencv(model, {"bus.jpg"}, 1);
  expect_matches_opencv(model, {"zidane.jpg", "bus.jpg"}, 4);
}

// yolov5n6's topology (P6: four detection heads, strides 8 to 64), generated at 640.
TEST(Yolov5VsOpenCV, GeneratedYolov5n6FourHeads) {
  const std::string model = std::string(SPARROW_GENERATED_MODELS) + "/yolov5n6.onnx";
  expect_matches_opencv(model, {"bus.jpg"}, 1);
  const Engine engine = Engine::load(model);
  EXPECT_EQ(engine.outputs()[0].shape, (Shape{1, 3 * (80 * 80 + 40 * 40 + 20 * 20 + 10 * 10), 85}));
}

}  // namespace
}  // namespace sparrow
