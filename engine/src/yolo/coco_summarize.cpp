#include "yolo/coco_summarize.h"

#include <cstdio>
#include <string>
#include <vector>

#include "sparrow/yolo/coco_eval.h"
#include "yolo/coco_numpy.h"

namespace sparrow::yolo {
namespace {

// One summary line, in the order of COCOeval._summarizeDets.
struct StatSpec {
  bool precision;     // AP, else AR
  double iou;         // a single IoU threshold, or < 0 for the mean over all of them
  CocoAreaIndex area;
  int max_dets;
};

constexpr std::array<StatSpec, 12> kStats = {{
    {true, -1, kAreaAll, 100},
    {true, 0.5, kAreaAll, 100},
    {true, 0.75, kAreaAll, 100},
    {true, -1, kAreaSmall, 100},
    {true, -1, kAreaMedium, 100},
    {true, -1, kAreaLarge, 100},
    {false, -1, kAreaAll, 1},
    {false, -1, kAreaAll, 10},
    {false, -1, kAreaAll, 100},
    {false, -1, kAreaSmall, 100},
    {false, -1, kAreaMedium, 100},
    {false, -1, kAreaLarge, 100},
}};

constexpr std::array<const char*, 4> kAreaLabels = {"all", "small", "medium", "large"};

// np.mean(s[s > -1]), or -1 when nothing is left.
double mean_of_valid(const std::vector<double>& values) {
  std::vector<double> valid;
  for (double v : values) {
    if (v > -1) valid.push_back(v);
  }
  return valid.empty() ? -1 : numpy_mean(valid);
}

// The threshold indices a stat averages over; pycocotools selects with `iouThr == p.iouThrs`, so
// a threshold the linspace does not hit exactly selects nothing.
std::vector<std::size_t> threshold_indices(const StatSpec& spec, const CocoParams& params) {
  std::vector<std::size_t> ts;
  for (std::size_t t = 0; t < params.iou_thresholds.size(); ++t) {
    if (spec.iou < 0 || params.iou_thresholds[t] == spec.iou) ts.push_back(t);
  }
  return ts;
}

std::size_t max_dets_index(int max_dets, const CocoParams& params) {
  std::size_t m = 0;
  while (m + 1 < params.max_dets.size() && params.max_dets[m] != max_dets) ++m;
  return m;
}

// Values in numpy's C order over (t, r, k) or (t, k), since the summation order is part of the result.
double summarize_one(const CocoAccumulation& acc, const CocoParams& params, const StatSpec& spec) {
  const std::size_t a = spec.area, m = max_dets_index(spec.max_dets, params);
  std::vector<double> values;
  for (std::size_t t : threshold_indices(spec, params)) {
    if (spec.precision) {
      for (std::size_t r = 0; r < acc.R; ++r) {
        for (std::size_t k = 0; k < acc.K; ++k) values.push_back(acc.precision(t, r, k, a, m));
      }
    } else {
      for (std::size_t k = 0; k < acc.K; ++k) values.push_back(acc.recall(t, k, a, m));
    }
  }
  return mean_of_valid(values);
}

}  // namespace

std::array<double, 12> summarize_coco_stats(const CocoAccumulation& acc, const CocoParams& params) {
  std::array<double, 12> stats{};
  for (std::size_t i = 0; i < kStats.size(); ++i) stats[i] = summarize_one(acc, params, kStats[i]);
  return stats;
}

double coco_category_ap(const CocoAccumulation& acc, std::size_t k) {
  std::vector<double> values;
  for (std::size_t t = 0; t < acc.T; ++t) {
    for (std::size_t r = 0; r < acc.R; ++r) values.push_back(acc.precision(t, r, k, kAreaAll, acc.M - 1));
  }
  return mean_of_valid(values);
}

std::string format_coco_summary(const CocoEvalResult& result) {
  std::string out;
  for (std::size_t i = 0; i < kStats.size(); ++i) {
    const StatSpec& spec = kStats[i];
    char iou[16];
    if (spec.iou < 0) {
      std::snprintf(iou, sizeof iou, "0.50:0.95");
    } else {
      std::snprintf(iou, sizeof iou, "%0.2f", spec.iou);
    }
    char line[128];
    std::snprintf(line, sizeof line, " %-18s %s @[ IoU=%-9s | area=%6s | maxDets=%3d ] = %0.3f\n",
                  spec.precision ? "Average Precision" : "Average Recall", spec.precision ? "(AP)" : "(AR)", iou,
                  kAreaLabels[spec.area], spec.max_dets, result.stats[i]);
    out += line;
  }
  return out;
}

}  // namespace sparrow::yolo
