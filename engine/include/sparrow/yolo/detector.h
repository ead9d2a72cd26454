// sparrow::yolo::Detector: images in, detections out, with the time each stage took. What the
// CLI's detect/eval and the server call.
#pragma once

#include <string>
#include <vector>

#include "sparrow/engine.h"
#include "sparrow/yolo/detection.h"
#include "sparrow/yolo/image_decoder.h"
#include "sparrow/yolo/letterbox.h"

namespace cv {
class Mat;
}

namespace sparrow::yolo {

struct DetectorOptions {
  CompileOptions compile;  // batch size, cores, image size of dynamic models
  NmsOptions nms;          // defaults for detect() calls that pass none
  DecodeOptions decode;    // limits for encoded images
};

// Milliseconds spent per stage, summed over the images of one call.
struct Timings {
  double decode_ms = 0;
  double preprocess_ms = 0;
  double inference_ms = 0;
  double postprocess_ms = 0;
};

struct ImageDetections {
  int width = 0, height = 0;  // of the original image
  std::vector<Detection> detections;
};

class Detector {
 public:
  // Compiles the model; throws sparrow::Error if it is not a YOLOv5 detection export (input
  // N x 3 x H x W float 0..1 or uint8 0..255, output N x anchors x (5 + classes) float).
  explicit Detector(const std::string& model_path, DetectorOptions options = {});

  // Decoded 8-bit BGR images; runs as many engine batches as needed. nms == nullptr uses the
  // options' defaults. Safe to call from several threads.
  std::vector<ImageDetections> detect(const std::vector<cv::Mat>& images, Timings* timings = nullptr,
                                      const NmsOptions* nms = nullptr) const;
  // Encoded images (JPEG, PNG, BMP, WebP bytes). An image that cannot be decoded throws
  // kInvalidArgument naming its index.
  std::vector<ImageDetections> detect_encoded(const std::vector<std::string>& images, Timings* timings = nullptr,
                                              const NmsOptions* nms = nullptr) const;

  // The stages, for callers that form their own batches (the server's batcher).
  LetterboxTransform preprocess(const cv::Mat& bgr, float* dst) const;  // dst: 3 x height x width
  LetterboxTransform preprocess_bytes(const cv::Mat& bgr, uint8_t* dst) const;  // the same as 0..255 bytes
  std::vector<Detection> postprocess(const float* output_item, const LetterboxTransform& transform,
                                     const NmsOptions& nms) const;

  // The model's input is uint8 (the letterboxed bytes, 0..255), not float (0..1).
  bool takes_bytes() const { return engine_.inputs()[0].dtype == DType::kUint8; }
  const Engine& engine() const { return engine_; }
  const DetectorOptions& options() const { return options_; }
  const std::vector<std::string>& class_names() const { return class_names_; }
  int64_t batch_size() const { return engine_.batch_size(); }
  int input_width() const { return input_width_; }
  int input_height() const { return input_height_; }

 private:
  void run_batch(const std::vector<const cv::Mat*>& images, const NmsOptions& nms, Timings& timings,
                 std::vector<ImageDetections>& out) const;
  Tensor letterboxed_floats(const std::vector<const cv::Mat*>& images, std::vector<LetterboxTransform>& transforms) const;
  Tensor letterboxed_bytes(const std::vector<const cv::Mat*>& images, std::vector<LetterboxTransform>& transforms) const;

  DetectorOptions options_;
  Engine engine_;
  std::vector<std::string> class_names_;
  int input_width_ = 0, input_height_ = 0;
  int64_t anchors_ = 0, row_width_ = 0;
};

}  // namespace sparrow::yolo
