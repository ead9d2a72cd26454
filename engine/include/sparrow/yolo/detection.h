// Detections and the post-processing that turns YOLOv5 export outputs into them.
#pragma once

#include <cstdint>
#include <vector>

#include "sparrow/yolo/letterbox.h"

namespace sparrow::yolo {

struct Detection {
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;  // corners, in the pixels of the image it refers to
  float score = 0;                       // objectness x class score
  int class_id = 0;
};

// Thresholds as ultralytics' non_max_suppression takes them.
struct NmsOptions {
  float conf_threshold = 0.25f;
  float iou_threshold = 0.45f;
  int max_det = 300;
  std::vector<int> classes;  // keep only these class ids; empty keeps all
  bool agnostic = false;     // one NMS over all classes instead of one per class
  bool multi_label = false;  // a box may be kept for every class above the threshold (evaluation)
};

// One image's predictions: `anchors` rows of (cx, cy, w, h, objectness, class scores...), boxes in
// input pixels. Returns detections in input pixels, best first, at most max_det.
std::vector<Detection> non_max_suppression(const float* predictions, int64_t anchors, int64_t row_width,
                                           const NmsOptions& options);

// Maps detections from the letterboxed input back to the original image, clipping to its bounds.
void scale_to_source(std::vector<Detection>& detections, const LetterboxTransform& transform, int input_width,
                     int input_height);

}  // namespace sparrow::yolo
