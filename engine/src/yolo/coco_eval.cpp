// evaluate_coco: COCOeval.evaluate, accumulate and summarize in one pass, a category at a time.
#include "sparrow/yolo/coco_eval.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <unordered_map>

#include "sparrow/error.h"
#include "yolo/coco_accumulate.h"
#include "yolo/coco_image_eval.h"
#include "yolo/coco_params.h"
#include "yolo/coco_summarize.h"

namespace sparrow::yolo {
namespace {

template <typename T, typename F>
std::vector<int64_t> sorted_unique_ids(const std::vector<T>& items, F id) {
  std::vector<int64_t> ids;
  for (const T& item : items) ids.push_back(id(item));
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

// Position of `id` in sorted `ids`, or -1.
std::ptrdiff_t index_of(const std::vector<int64_t>& ids, int64_t id) {
  const auto it = std::lower_bound(ids.begin(), ids.end(), id);
  return it != ids.end() && *it == id ? it - ids.begin() : -1;
}

// Ground truth and detections bucketed by [image index * K + category index], in the order
// pycocotools' _prepare builds its _gts and _dts lists.
struct Buckets {
  std::size_t K;
  std::vector<std::vector<const CocoAnnotation*>> gts;
  std::vector<std::vector<const CocoDetection*>> dets;
};

// pycocotools walks images in id order and each image's annotations in file order, then loads
// them by id from a dict, so annotations that share an id all become the last one with it.
void bucket_ground_truth(const CocoGroundTruth& gt, const std::vector<int64_t>& images,
                         const std::vector<int64_t>& categories, Buckets& b) {
  std::unordered_map<int64_t, const CocoAnnotation*> by_id;
  std::vector<std::vector<const CocoAnnotation*>> per_image(images.size());
  for (const CocoAnnotation& ann : gt.annotations) {
    by_id[ann.id] = &ann;
    const std::ptrdiff_t i = index_of(images, ann.image_id);
    if (i >= 0) per_image[static_cast<std::size_t>(i)].push_back(&ann);
  }
  for (const std::vector<const CocoAnnotation*>& anns : per_image) {
    for (const CocoAnnotation* listed : anns) {
      if (index_of(categories, listed->category_id) < 0) continue;
      const CocoAnnotation* ann = by_id.at(listed->id);
      const std::ptrdiff_t i = index_of(images, ann->image_id), k = index_of(categories, ann->category_id);
      if (i >= 0 && k >= 0) b.gts[static_cast<std::size_t>(i) * b.K + static_cast<std::size_t>(k)].push_back(ann);
    }
  }
}

// pycocotools' loadRes asserts every result belongs to a ground-truth image; results of unknown
// categories it keeps but never evaluates.
void bucket_detections(const std::vector<CocoDetection>& dets, const std::vector<int64_t>& images,
                       const std::vector<int64_t>& categories, Buckets& b) {
  for (std::size_t n = 0; n < dets.size(); ++n) {
    const CocoDetection& det = dets[n];
    const std::ptrdiff_t i = index_of(images, det.image_id);
    if (i < 0) {
      throw Error(ErrorCode::kInvalidArgument, "detection " + std::to_string(n) + " has image_id " +
                                                   std::to_string(det.image_id) + ", which is not a ground-truth image");
    }
    const bool finite = std::isfinite(det.score) &&
                        std::all_of(det.bbox.begin(), det.bbox.end(), [](double v) { return std::isfinite(v); });
    if (!finite) throw Error(ErrorCode::kInvalidArgument, "detection " + std::to_string(n) + " has a non-finite score or bbox");
    const std::ptrdiff_t k = index_of(categories, det.category_id);
    if (k >= 0) b.dets[static_cast<std::size_t>(i) * b.K + static_cast<std::size_t>(k)].push_back(&det);
  }
}

// Best score first, ties in input order (numpy's mergesort), cut to the largest max_dets.
void sort_and_cap(std::vector<const CocoDetection*>& dets, std::size_t cap) {
  std::stable_sort(dets.begin(), dets.end(), [](const CocoDetection* x, const CocoDetection* y) { return x->score > y->score; });
  if (dets.size() > cap) dets.resize(cap);
}

// evaluateImg for every image of category k and every area range, then accumulate that category.
void evaluate_category(Buckets& b, std::size_t num_images, std::size_t k, const CocoParams& params, CocoAccumulation& acc) {
  std::vector<std::vector<CocoImageEval>> per_area(params.area_ranges.size());
  for (std::size_t i = 0; i < num_images; ++i) {
    const std::vector<const CocoAnnotation*>& gts = b.gts[i * b.K + k];
    std::vector<const CocoDetection*>& dets = b.dets[i * b.K + k];
    if (gts.empty() && dets.empty()) continue;  // evaluateImg returns None
    sort_and_cap(dets, static_cast<std::size_t>(params.max_dets.back()));
    const std::vector<double> ious = coco_box_ious(dets, gts);
    for (std::size_t a = 0; a < params.area_ranges.size(); ++a) {
      per_area[a].push_back(evaluate_coco_image(gts, dets, ious, params.area_ranges[a], params.iou_thresholds));
    }
  }
  for (std::size_t a = 0; a < per_area.size(); ++a) {
    for (std::size_t m = 0; m < params.max_dets.size(); ++m) accumulate_coco_curve(per_area[a], params, k, a, m, acc);
  }
}

}  // namespace

CocoEvalResult evaluate_coco(const CocoGroundTruth& gt, const std::vector<CocoDetection>& detections) {
  const CocoParams& params = coco_default_params();
  const std::vector<int64_t> images = sorted_unique_ids(gt.images, [](const CocoImage& im) { return im.id; });
  const std::vector<int64_t> categories = sorted_unique_ids(gt.categories, [](const CocoCategory& c) { return c.id; });

  Buckets b{categories.size(), {}, {}};
  b.gts.resize(images.size() * b.K);
  b.dets.resize(images.size() * b.K);
  bucket_ground_truth(gt, images, categories, b);
  bucket_detections(detections, images, categories, b);

  CocoAccumulation acc(categories.size(), params);
  for (std::size_t k = 0; k < categories.size(); ++k) evaluate_category(b, images.size(), k, params, acc);

  CocoEvalResult result;
  result.stats = summarize_coco_stats(acc, params);
  for (std::size_t k = 0; k < categories.size(); ++k) result.per_category_ap[categories[k]] = coco_category_ap(acc, k);
  return result;
}

}  // namespace sparrow::yolo
