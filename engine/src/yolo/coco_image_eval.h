// COCOeval.evaluateImg for boxes: greedy matching of one image's detections of one category
// against its ground truth, at every IoU threshold, for one area range.
#pragma once

#include <cstdint>
#include <vector>

#include "sparrow/yolo/coco_eval.h"
#include "yolo/coco_params.h"

namespace sparrow::yolo {

// What accumulate needs from one image and category. Flags are indexed [t * scores.size() + d].
struct CocoImageEval {
  std::vector<double> scores;    // detections best first, at most max_dets.back()
  std::vector<uint8_t> matched;  // matched a ground truth whose id is non-zero
  std::vector<uint8_t> ignored;  // matched an ignored ground truth, or unmatched and outside the area range
  int64_t counted_gts = 0;       // ground truth neither crowd nor outside the area range
};

// IoU of every detection with every ground truth, [d * gts.size() + g], computed as pycocotools'
// bbIou does; a crowd ground truth divides the intersection by the detection's own area.
std::vector<double> coco_box_ious(const std::vector<const CocoDetection*>& dets,
                                  const std::vector<const CocoAnnotation*>& gts);

// `dets` sorted best first and capped; `ious` from coco_box_ious on the same lists.
CocoImageEval evaluate_coco_image(const std::vector<const CocoAnnotation*>& gts,
                                  const std::vector<const CocoDetection*>& dets, const std::vector<double>& ious,
                                  const CocoAreaRange& range, const std::vector<double>& iou_thresholds);

}  // namespace sparrow::yolo
