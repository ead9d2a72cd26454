// COCO bbox evaluation that reproduces pycocotools' COCOeval(iouType='bbox') with default params,
// so `sparrow eval` numbers can be compared one for one with the ones papers and ultralytics print.
//
// Where pycocotools would crash or assert, Sparrow raises a sparrow::Error instead:
//  - a detection whose image_id is not a ground-truth image (pycocotools' loadRes assertion);
//  - a missing field, or a field of the wrong type, in either json file.
// Where pycocotools has a quirk that changes numbers, Sparrow keeps it, so results stay comparable:
//  - detections of a category absent from the ground truth are dropped silently;
//  - a ground-truth annotation with id 0 that gets matched counts as unmatched (pycocotools uses
//    the matched gt id, 0, as its "no match" marker), so its detection is a false positive;
//  - ground-truth annotations sharing an id all resolve to the last one with that id.
// Where pycocotools cannot run at all, Sparrow returns the natural answer: an empty detection list
// (loadRes indexes the first result) evaluates as "no detections", AP 0 where there is ground truth.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sparrow::yolo {

struct CocoImage {
  int64_t id = 0;
  int width = 0, height = 0;  // 0 when the json leaves them out
  std::string file_name;
};

struct CocoAnnotation {
  int64_t id = 0, image_id = 0, category_id = 0;
  std::array<double, 4> bbox{};  // x, y, width, height
  double area = 0;               // the json's area (segment area in COCO), which decides small/medium/large
  bool iscrowd = false;
};

struct CocoCategory {
  int64_t id = 0;
  std::string name;
};

struct CocoGroundTruth {
  std::vector<CocoImage> images;
  std::vector<CocoAnnotation> annotations;
  std::vector<CocoCategory> categories;
};

struct CocoDetection {
  int64_t image_id = 0, category_id = 0;
  std::array<double, 4> bbox{};  // x, y, width, height
  double score = 0;
};

// Index order of CocoEvalResult::stats, as pycocotools' COCOeval.stats.
enum CocoStat {
  kAP, kAP50, kAP75, kAPSmall, kAPMedium, kAPLarge,
  kAR1, kAR10, kAR100, kARSmall, kARMedium, kARLarge,
};

struct CocoEvalResult {
  std::array<double, 12> stats{};  // -1 where pycocotools prints -1 (nothing to evaluate)
  // AP@[.5:.95], area all, maxDets 100, for every ground-truth category: the mean of
  // precision[:, :, k, 0, -1] over entries > -1, or -1 when the category has no ground truth.
  std::map<int64_t, double> per_category_ap;
};

// Missing files raise ErrorCode::kNotFound; malformed json or a missing or mistyped field raises
// ErrorCode::kInvalidArgument naming the file, the array index and the field. Ground truth needs
// images[].id, categories[].id and annotations[].{id, image_id, category_id, bbox, area}; a missing
// iscrowd means 0, missing image sizes and names stay empty. Ids may be written 1 or 1.0.
CocoGroundTruth load_coco_ground_truth(const std::string& path);
// A json array of {"image_id", "category_id", "bbox", "score"} results, as COCO submissions use.
std::vector<CocoDetection> load_coco_detections(const std::string& path);
void write_coco_detections(const std::string& path, const std::vector<CocoDetection>& detections);

// Raises ErrorCode::kInvalidArgument for a detection on an image the ground truth does not list,
// or with a non-finite score or box (pycocotools' ordering is undefined for NaN).
CocoEvalResult evaluate_coco(const CocoGroundTruth& gt, const std::vector<CocoDetection>& detections);

// pycocotools' twelve summary lines, each ending in a newline.
std::string format_coco_summary(const CocoEvalResult& result);

}  // namespace sparrow::yolo
