// Scoring a YOLO dataset's detections the way `sparrow eval` does: which ground truth, which
// COCO ids, and the results as COCO detections.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "sparrow/yolo/coco_eval.h"
#include "sparrow/yolo/dataset.h"
#include "sparrow/yolo/detection.h"

namespace sparrow::yolo {

struct DatasetGroundTruth {
  CocoGroundTruth gt;
  std::map<int64_t, int64_t> image_ids;  // dataset image id -> ground-truth image id (images it knows)
  std::vector<int64_t> category_ids;     // COCO category id per class index
};

// The COCO json `json` limited to the dataset's images (matched by file name), or, when `json` is
// empty, boxes from the YOLO labels; `sizes` holds each image's (width, height) by dataset id.
DatasetGroundTruth dataset_ground_truth(const Dataset& d, const std::string& json,
                                        const std::map<int64_t, std::pair<int, int>>& sizes);

// Per-image detections (by dataset image id) as COCO results, rounded as ultralytics writes them;
// images the ground truth does not know are left out.
std::vector<CocoDetection> coco_detections(const DatasetGroundTruth& truth,
                                           const std::vector<std::pair<int64_t, std::vector<Detection>>>& results);

}  // namespace sparrow::yolo
