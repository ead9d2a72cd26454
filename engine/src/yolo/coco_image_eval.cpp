#include "yolo/coco_image_eval.h"

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace sparrow::yolo {
namespace {

bool outside(double area, const CocoAreaRange& range) { return area < range.min || area > range.max; }

double box_iou(const std::array<double, 4>& d, const std::array<double, 4>& g, bool crowd) {
  // Same operand order as the C code, so the result is bit-identical.
  const double w = std::fmin(d[2] + d[0], g[2] + g[0]) - std::fmax(d[0], g[0]);
  if (w <= 0) return 0;
  const double h = std::fmin(d[3] + d[1], g[3] + g[1]) - std::fmax(d[1], g[1]);
  if (h <= 0) return 0;
  const double inter = w * h;
  const double det_area = d[2] * d[3];
  const double union_area = crowd ? det_area : det_area + g[2] * g[3] - inter;
  return inter / union_area;
}

// Ground-truth indices with the ignored ones moved last, keeping order otherwise (a stable sort).
std::vector<std::size_t> ignored_last(const std::vector<uint8_t>& gt_ignored) {
  std::vector<std::size_t> order;
  for (int pass_ignored = 0; pass_ignored < 2; ++pass_ignored) {
    for (std::size_t g = 0; g < gt_ignored.size(); ++g) {
      if (gt_ignored[g] == pass_ignored) order.push_back(g);
    }
  }
  return order;
}

}  // namespace

std::vector<double> coco_box_ious(const std::vector<const CocoDetection*>& dets,
                                  const std::vector<const CocoAnnotation*>& gts) {
  std::vector<double> ious(dets.size() * gts.size());
  for (std::size_t d = 0; d < dets.size(); ++d) {
    for (std::size_t g = 0; g < gts.size(); ++g) ious[d * gts.size() + g] = box_iou(dets[d]->bbox, gts[g]->bbox, gts[g]->iscrowd);
  }
  return ious;
}

CocoImageEval evaluate_coco_image(const std::vector<const CocoAnnotation*>& gts,
                                  const std::vector<const CocoDetection*>& dets, const std::vector<double>& ious,
                                  const CocoAreaRange& range, const std::vector<double>& iou_thresholds) {
  const std::size_t G = gts.size(), D = dets.size(), T = iou_thresholds.size();
  std::vector<uint8_t> gt_ignored(G);
  for (std::size_t g = 0; g < G; ++g) gt_ignored[g] = gts[g]->iscrowd || outside(gts[g]->area, range);
  const std::vector<std::size_t> order = ignored_last(gt_ignored);

  CocoImageEval e;
  e.scores.resize(D);
  for (std::size_t d = 0; d < D; ++d) e.scores[d] = dets[d]->score;
  e.matched.assign(T * D, 0);
  e.ignored.assign(T * D, 0);
  e.counted_gts = static_cast<int64_t>(std::count(gt_ignored.begin(), gt_ignored.end(), 0));

  std::vector<uint8_t> gt_taken(G);
  for (std::size_t t = 0; t < T; ++t) {
    std::fill(gt_taken.begin(), gt_taken.end(), 0);
    for (std::size_t d = 0; d < D; ++d) {
      double best = std::min(iou_thresholds[t], 1 - 1e-10);
      std::ptrdiff_t m = -1;  // position in `order` of the best match so far
      for (std::size_t j = 0; j < G; ++j) {
        const std::size_t g = order[j];
        // A crowd region can absorb any number of detections; other ground truth only one.
        if (gt_taken[j] && !gts[g]->iscrowd) continue;
        // Ignored ground truth sorts last: once a real match exists, an ignored one cannot replace it.
        if (m > -1 && !gt_ignored[order[static_cast<std::size_t>(m)]] && gt_ignored[g]) break;
        if (ious[d * G + g] < best) continue;
        best = ious[d * G + g];
        m = static_cast<std::ptrdiff_t>(j);
      }
      if (m == -1) continue;
      const std::size_t g = order[static_cast<std::size_t>(m)];
      gt_taken[static_cast<std::size_t>(m)] = 1;
      e.ignored[t * D + d] = gt_ignored[g];
      // pycocotools records the gt id and reads 0 as "unmatched"; an id-0 gt keeps that meaning.
      e.matched[t * D + d] = gts[g]->id != 0;
    }
  }
  for (std::size_t t = 0; t < T; ++t) {
    for (std::size_t d = 0; d < D; ++d) {
      const double det_area = dets[d]->bbox[2] * dets[d]->bbox[3];
      if (!e.matched[t * D + d] && outside(det_area, range)) e.ignored[t * D + d] = 1;
    }
  }
  return e;
}

}  // namespace sparrow::yolo
