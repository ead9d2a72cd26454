#include "sparrow/yolo/dataset_scoring.h"

#include <cmath>
#include <filesystem>
#include <set>

namespace sparrow::yolo {
namespace fs = std::filesystem;
namespace {

// Python's round(x, digits), as ultralytics rounds COCO results before writing them.
double round_to(double v, int digits) {
  const double scale = std::pow(10.0, digits);
  return std::nearbyint(v * scale) / scale;
}

DatasetGroundTruth from_json(const Dataset& d, const std::string& json) {
  DatasetGroundTruth truth;
  CocoGroundTruth all = load_coco_ground_truth(json);
  std::map<std::string, int64_t> present;
  for (const auto& image : d.images) present[fs::path(image.file_name).filename().string()] = image.id;
  std::set<int64_t> kept;
  for (const auto& image : all.images) {
    auto it = present.find(fs::path(image.file_name).filename().string());
    if (it != present.end()) {
      truth.gt.images.push_back(image);
      kept.insert(image.id);
      truth.image_ids[it->second] = image.id;
    }
  }
  for (const auto& a : all.annotations) {
    if (kept.count(a.image_id)) truth.gt.annotations.push_back(a);
  }
  truth.gt.categories = all.categories;
  return truth;
}

DatasetGroundTruth from_labels(const Dataset& d, const std::map<int64_t, std::pair<int, int>>& sizes) {
  DatasetGroundTruth truth;
  CocoGroundTruth& gt = truth.gt;
  for (size_t c = 0; c < d.names.size(); ++c) gt.categories.push_back({d.category_ids.empty() ? int64_t(c) : d.category_ids[c], d.names[c]});
  int64_t next_id = 1;
  for (const auto& image : d.images) {
    truth.image_ids[image.id] = image.id;
    const auto [width, height] = sizes.at(image.id);
    gt.images.push_back({image.id, width, height, image.file_name});
    for (const auto& l : image.labels) {
      const double w = l.w * width, h = l.h * height;
      gt.annotations.push_back({next_id++, image.id, gt.categories[static_cast<size_t>(l.class_id)].id,
                                {(l.cx - l.w / 2) * width, (l.cy - l.h / 2) * height, w, h}, w * h, false});
    }
  }
  return truth;
}

// The dataset's map, else the ground truth's category with the same name.
std::vector<int64_t> category_ids(const Dataset& d, const CocoGroundTruth& gt) {
  if (!d.category_ids.empty()) return d.category_ids;
  std::map<std::string, int64_t> by_name;
  for (const auto& c : gt.categories) by_name[c.name] = c.id;
  std::vector<int64_t> ids;
  for (size_t i = 0; i < d.names.size(); ++i) {
    auto it = by_name.find(d.names[i]);
    ids.push_back(it != by_name.end() ? it->second : static_cast<int64_t>(i));
  }
  return ids;
}

}  // namespace

DatasetGroundTruth dataset_ground_truth(const Dataset& d, const std::string& json,
                                        const std::map<int64_t, std::pair<int, int>>& sizes) {
  DatasetGroundTruth truth = json.empty() ? from_labels(d, sizes) : from_json(d, json);
  truth.category_ids = category_ids(d, truth.gt);
  return truth;
}

std::vector<CocoDetection> coco_detections(const DatasetGroundTruth& truth,
                                           const std::vector<std::pair<int64_t, std::vector<Detection>>>& results) {
  std::vector<CocoDetection> dets;
  for (const auto& [image_id, detections] : results) {
    auto gt_id = truth.image_ids.find(image_id);
    if (gt_id == truth.image_ids.end()) continue;
    for (const Detection& d : detections) {
      dets.push_back({gt_id->second, truth.category_ids.at(static_cast<size_t>(d.class_id)),
                      {round_to(d.x1, 3), round_to(d.y1, 3), round_to(d.x2 - d.x1, 3), round_to(d.y2 - d.y1, 3)},
                      round_to(d.score, 5)});
    }
  }
  return dets;
}

}  // namespace sparrow::yolo
