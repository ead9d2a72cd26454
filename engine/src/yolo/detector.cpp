#include "sparrow/yolo/detector.h"

#include <chrono>
#include <cstring>

#include <opencv2/core.hpp>

#include "sparrow/error.h"
#include "sparrow/yolo/class_names.h"

namespace sparrow::yolo {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

void check_yolo_signature(const Engine& engine) {
  const auto& in = engine.inputs();
  const auto& out = engine.outputs();
  const bool image_type = in.size() == 1 && (in[0].dtype == DType::kFloat32 || in[0].dtype == DType::kUint8);
  if (!image_type || in[0].shape.size() != 4 || in[0].shape[1] != 3) {
    throw Error(ErrorCode::kInvalidArgument,
                "not a YOLOv5 detector: it needs one N x 3 x H x W input of float32 (0..1) or uint8 (0..255)");
  }
  if (out.empty() || out[0].dtype != DType::kFloat32 || out[0].shape.size() != 3 || out[0].shape[2] < 6) {
    throw Error(ErrorCode::kInvalidArgument,
                "not a YOLOv5 detection export: its first output must be float32 N x anchors x (5 + classes)");
  }
}

}  // namespace

Detector::Detector(const std::string& model_path, DetectorOptions options)
    : options_(std::move(options)), engine_(Engine::load(model_path, options_.compile)) {
  check_yolo_signature(engine_);
  input_height_ = static_cast<int>(engine_.inputs()[0].shape[2]);
  input_width_ = static_cast<int>(engine_.inputs()[0].shape[3]);
  anchors_ = engine_.outputs()[0].shape[1];
  row_width_ = engine_.outputs()[0].shape[2];
  class_names_ = class_names_for(engine_.metadata(), static_cast<int>(row_width_ - 5));
}

LetterboxTransform Detector::preprocess(const cv::Mat& bgr, float* dst) const {
  return letterbox(bgr, input_height_, input_width_, dst);
}

LetterboxTransform Detector::preprocess_bytes(const cv::Mat& bgr, uint8_t* dst) const {
  return letterbox_bytes(bgr, input_height_, input_width_, dst);
}

std::vector<Detection> Detector::postprocess(const float* output_item, const LetterboxTransform& transform,
                                             const NmsOptions& nms) const {
  std::vector<Detection> d = non_max_suppression(output_item, anchors_, row_width_, nms);
  scale_to_source(d, transform, input_width_, input_height_);
  return d;
}

// A short last batch is padded with grey images; their outputs are ignored.
Tensor Detector::letterboxed_floats(const std::vector<const cv::Mat*>& images, std::vector<LetterboxTransform>& transforms) const {
  Tensor input = Tensor::uninitialized(DType::kFloat32, engine_.inputs()[0].shape);
  const size_t item = static_cast<size_t>(3) * input_height_ * input_width_;
  for (const cv::Mat* image : images) transforms.push_back(preprocess(*image, input.data_as<float>() + transforms.size() * item));
  std::fill(input.data_as<float>() + images.size() * item, input.data_as<float>() + input.size(), 114.0f / 255.0f);
  return input;
}

Tensor Detector::letterboxed_bytes(const std::vector<const cv::Mat*>& images, std::vector<LetterboxTransform>& transforms) const {
  Tensor input = Tensor::uninitialized(DType::kUint8, engine_.inputs()[0].shape);
  const size_t item = static_cast<size_t>(3) * input_height_ * input_width_;
  for (const cv::Mat* image : images) {
    transforms.push_back(preprocess_bytes(*image, input.data_as<uint8_t>() + transforms.size() * item));
  }
  std::fill(input.data_as<uint8_t>() + images.size() * item, input.data_as<uint8_t>() + input.size(), uint8_t{114});
  return input;
}

void Detector::run_batch(const std::vector<const cv::Mat*>& images, const NmsOptions& nms, Timings& timings,
                         std::vector<ImageDetections>& out) const {
  auto start = Clock::now();
  std::vector<LetterboxTransform> transforms;
  const Tensor input = takes_bytes() ? letterboxed_bytes(images, transforms) : letterboxed_floats(images, transforms);
  timings.preprocess_ms += ms_since(start);

  start = Clock::now();
  const std::vector<Tensor> outputs = engine_.run({input});
  timings.inference_ms += ms_since(start);

  start = Clock::now();
  for (size_t i = 0; i < images.size(); ++i) {
    ImageDetections result;
    result.width = images[i]->cols;
    result.height = images[i]->rows;
    result.detections = postprocess(outputs[0].data_as<float>() + i * anchors_ * row_width_, transforms[i], nms);
    out.push_back(std::move(result));
  }
  timings.postprocess_ms += ms_since(start);
}

std::vector<ImageDetections> Detector::detect(const std::vector<cv::Mat>& images, Timings* timings,
                                              const NmsOptions* nms) const {
  Timings local;
  std::vector<ImageDetections> out;
  const size_t batch = static_cast<size_t>(engine_.batch_size());
  for (size_t first = 0; first < images.size(); first += batch) {
    std::vector<const cv::Mat*> chunk;
    for (size_t i = first; i < std::min(images.size(), first + batch); ++i) chunk.push_back(&images[i]);
    run_batch(chunk, nms ? *nms : options_.nms, local, out);
  }
  if (timings) {
    timings->preprocess_ms += local.preprocess_ms;
    timings->inference_ms += local.inference_ms;
    timings->postprocess_ms += local.postprocess_ms;
  }
  return out;
}

std::vector<ImageDetections> Detector::detect_encoded(const std::vector<std::string>& images, Timings* timings,
                                                      const NmsOptions* nms) const {
  const auto start = Clock::now();
  std::vector<cv::Mat> decoded;
  for (size_t i = 0; i < images.size(); ++i) {
    try {
      decoded.push_back(decode_image(images[i].data(), images[i].size(), options_.decode));
    } catch (const Error& e) {
      throw Error(e.code(), "image " + std::to_string(i) + ": " + e.what());
    }
  }
  if (timings) timings->decode_ms += ms_since(start);
  return detect(decoded, timings, nms);
}

}  // namespace sparrow::yolo
