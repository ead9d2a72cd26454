// Post-processing with ultralytics' semantics (utils/general.py non_max_suppression and
// scale_coords of YOLOv5 v6), so that detections and mAP match the reference pipeline.
#include <algorithm>
#include <numeric>

#include "sparrow/error.h"
#include "sparrow/yolo/detection.h"

namespace sparrow::yolo {
namespace {

// ultralytics offsets boxes by class * max_wh so one NMS never suppresses across classes.
constexpr float kMaxWh = 7680.0f;
// ultralytics keeps at most this many candidates (by score) before NMS.
constexpr size_t kMaxNms = 30000;

float iou(const Detection& a, const Detection& b, float offset_a, float offset_b) {
  const float ix1 = std::max(a.x1 + offset_a, b.x1 + offset_b), iy1 = std::max(a.y1 + offset_a, b.y1 + offset_b);
  const float ix2 = std::min(a.x2 + offset_a, b.x2 + offset_b), iy2 = std::min(a.y2 + offset_a, b.y2 + offset_b);
  const float inter = std::max(0.0f, ix2 - ix1) * std::max(0.0f, iy2 - iy1);
  const float area_a = (a.x2 - a.x1) * (a.y2 - a.y1), area_b = (b.x2 - b.x1) * (b.y2 - b.y1);
  const float uni = area_a + area_b - inter;
  return uni > 0 ? inter / uni : 0.0f;
}

bool wanted(const NmsOptions& o, int class_id) {
  return o.classes.empty() || std::find(o.classes.begin(), o.classes.end(), class_id) != o.classes.end();
}

// Candidates above the thresholds, with boxes converted to corners.
std::vector<Detection> candidates(const float* p, int64_t anchors, int64_t width, const NmsOptions& o) {
  const int num_classes = static_cast<int>(width - 5);
  std::vector<Detection> out;
  for (int64_t a = 0; a < anchors; ++a) {
    const float* row = p + a * width;
    const float objectness = row[4];
    if (!(objectness > o.conf_threshold)) continue;
    Detection d;
    d.x1 = row[0] - row[2] / 2, d.y1 = row[1] - row[3] / 2;
    d.x2 = row[0] + row[2] / 2, d.y2 = row[1] + row[3] / 2;
    if (o.multi_label) {
      for (int c = 0; c < num_classes; ++c) {
        const float score = row[5 + c] * objectness;
        if (score > o.conf_threshold && wanted(o, c)) d.score = score, d.class_id = c, out.push_back(d);
      }
      continue;
    }
    int best = 0;
    for (int c = 1; c < num_classes; ++c) {
      if (row[5 + c] > row[5 + best]) best = c;
    }
    d.score = row[5 + best] * objectness;
    d.class_id = best;
    if (d.score > o.conf_threshold && wanted(o, best)) out.push_back(d);
  }
  return out;
}

}  // namespace

std::vector<Detection> non_max_suppression(const float* predictions, int64_t anchors, int64_t row_width,
                                           const NmsOptions& o) {
  if (row_width < 6) {
    throw Error(ErrorCode::kInvalidArgument, "YOLO output rows need at least 6 values (box, objectness, a class), got " +
                                                 std::to_string(row_width));
  }
  std::vector<Detection> boxes = candidates(predictions, anchors, row_width, o);
  std::stable_sort(boxes.begin(), boxes.end(), [](const Detection& a, const Detection& b) { return a.score > b.score; });
  if (boxes.size() > kMaxNms) boxes.resize(kMaxNms);

  std::vector<Detection> kept;
  std::vector<bool> suppressed(boxes.size(), false);
  for (size_t i = 0; i < boxes.size() && static_cast<int>(kept.size()) < o.max_det; ++i) {
    if (suppressed[i]) continue;
    kept.push_back(boxes[i]);
    const float offset_i = o.agnostic ? 0.0f : boxes[i].class_id * kMaxWh;
    for (size_t j = i + 1; j < boxes.size(); ++j) {
      if (suppressed[j]) continue;
      if (!o.agnostic && boxes[j].class_id != boxes[i].class_id) continue;  // offsets never overlap
      const float offset_j = o.agnostic ? 0.0f : boxes[j].class_id * kMaxWh;
      if (iou(boxes[i], boxes[j], offset_i, offset_j) > o.iou_threshold) suppressed[j] = true;
    }
  }
  return kept;
}

void scale_to_source(std::vector<Detection>& detections, const LetterboxTransform& t, int input_width, int input_height) {
  // As ultralytics' scale_coords: the gain and padding are recomputed from the sizes (the
  // padding may be fractional here, unlike the letterbox's integer border).
  const float gain = std::min(static_cast<float>(input_height) / t.source_height,
                              static_cast<float>(input_width) / t.source_width);
  const float pad_x = (input_width - t.source_width * gain) / 2, pad_y = (input_height - t.source_height * gain) / 2;
  const float w = static_cast<float>(t.source_width), h = static_cast<float>(t.source_height);
  for (Detection& d : detections) {
    d.x1 = std::clamp((d.x1 - pad_x) / gain, 0.0f, w);
    d.x2 = std::clamp((d.x2 - pad_x) / gain, 0.0f, w);
    d.y1 = std::clamp((d.y1 - pad_y) / gain, 0.0f, h);
    d.y2 = std::clamp((d.y2 - pad_y) / gain, 0.0f, h);
  }
}

}  // namespace sparrow::yolo
