// What a served model looks like over KServe v2: its one version, its tensors and their names.
//
// Two ways in, one per request:
// - the engine's image tensor under the ONNX input's name (e.g. "images"): FP32 (0..1) or UINT8
//   (0..255, scaled by 1/255), N x 3 x H x W, RGB planes, already letterboxed to the model's
//   size. Answered with the ONNX output (e.g. "output0"), FP32 N x anchors x (5 + classes): the
//   raw predictions, before thresholds and NMS.
// - "encoded_images": BYTES [N] (or [N, 1]), one encoded image (JPEG, PNG, BMP, WebP) per
//   element, letterboxed and post-processed by the server. Answered with "detections", FP32
//   N x K x 6 rows of (x1, y1, x2, y2, score, class_id) in the original image's pixels, best
//   first, K the largest count among the images and shorter lists padded with zero rows, and
//   "detection_counts", INT32 [N], how many rows of each image are real.
// Metadata lists the FP32 form of the tensor input; UINT8 is accepted under the same name.
#pragma once

#include <string>
#include <vector>

#include "kserve/grpc_predict_v2.pb.h"
#include "model.h"

namespace sparrow::server {

inline constexpr char kKServeVersion[] = "1";
inline constexpr char kEncodedImagesInput[] = "encoded_images";
inline constexpr char kDetectionsOutput[] = "detections";
inline constexpr char kDetectionCountsOutput[] = "detection_counts";
inline constexpr int kDetectionFields = 6;  // x1, y1, x2, y2, score, class_id

// The engine's image input and raw output, per batch item.
struct TensorLayout {
  std::string input_name, output_name;
  int64_t channels = 0, height = 0, width = 0;
  int64_t anchors = 0, row = 0;

  size_t input_elements() const { return static_cast<size_t>(channels * height * width); }
  size_t output_elements() const { return static_cast<size_t>(anchors * row); }
};

TensorLayout tensor_layout(const Model& model);

// Whether a version a client asked for names the one the server has (empty: any).
bool is_served_version(const std::string& version);

void fill_model_metadata(const Model& model, inference::ModelMetadataResponse* out);

}  // namespace sparrow::server
