// COCOeval's default bbox parameters (pycocotools Params.setDetParams).
#pragma once

#include <array>
#include <vector>

namespace sparrow::yolo {

struct CocoAreaRange {
  double min, max;  // inclusive on both ends, as pycocotools compares
};

struct CocoParams {
  std::vector<double> iou_thresholds;     // np.linspace(.5, .95, 10)
  std::vector<double> recall_thresholds;  // np.linspace(0, 1, 101)
  std::array<CocoAreaRange, 4> area_ranges;  // all, small, medium, large
  std::array<int, 3> max_dets;            // ascending; the last one caps detections per image and category
};

const CocoParams& coco_default_params();

enum CocoAreaIndex { kAreaAll, kAreaSmall, kAreaMedium, kAreaLarge };

}  // namespace sparrow::yolo
