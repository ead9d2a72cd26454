#include "yolo/coco_accumulate.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <numeric>

namespace sparrow::yolo {
namespace {

// The detections of every image, each image cut to its `max_det` best, with their flags at all
// thresholds: the np.concatenate step before the global sort.
struct PooledDetections {
  std::vector<double> scores;
  std::vector<std::vector<uint8_t>> matched, ignored;  // [t][i]
};

PooledDetections pool(const std::vector<CocoImageEval>& images, std::size_t T, std::size_t max_det) {
  PooledDetections p;
  p.matched.resize(T);
  p.ignored.resize(T);
  for (const CocoImageEval& e : images) {
    const std::size_t D = e.scores.size(), n = std::min(D, max_det);
    p.scores.insert(p.scores.end(), e.scores.begin(), e.scores.begin() + static_cast<std::ptrdiff_t>(n));
    for (std::size_t t = 0; t < T; ++t) {
      p.matched[t].insert(p.matched[t].end(), e.matched.begin() + static_cast<std::ptrdiff_t>(t * D),
                          e.matched.begin() + static_cast<std::ptrdiff_t>(t * D + n));
      p.ignored[t].insert(p.ignored[t].end(), e.ignored.begin() + static_cast<std::ptrdiff_t>(t * D),
                          e.ignored.begin() + static_cast<std::ptrdiff_t>(t * D + n));
    }
  }
  return p;
}

// One IoU threshold: cumulative true and false positives in score order, precision made
// non-increasing from the right, then read at the first rank whose recall reaches each threshold.
void fill_threshold(const std::vector<uint8_t>& matched, const std::vector<uint8_t>& ignored,
                    const std::vector<std::size_t>& rank, double counted_gts, const CocoParams& params,
                    std::size_t t, std::size_t k, std::size_t a, std::size_t m, CocoAccumulation& out) {
  const std::size_t nd = rank.size();
  std::vector<double> rc(nd), pr(nd);
  double tp = 0, fp = 0;
  for (std::size_t i = 0; i < nd; ++i) {
    const std::size_t d = rank[i];
    if (!ignored[d]) (matched[d] ? tp : fp) += 1;
    rc[i] = tp / counted_gts;
    pr[i] = tp / (fp + tp + std::numeric_limits<double>::epsilon());  // np.spacing(1)
  }
  out.recall(t, k, a, m) = nd ? rc.back() : 0;
  for (std::size_t i = nd - 1; nd > 0 && i > 0; --i) pr[i - 1] = std::max(pr[i - 1], pr[i]);
  for (std::size_t r = 0; r < params.recall_thresholds.size(); ++r) {
    // np.searchsorted(rc, recThrs, side='left'); past the end, precision stays 0.
    const auto it = std::lower_bound(rc.begin(), rc.end(), params.recall_thresholds[r]);
    const std::size_t i = static_cast<std::size_t>(it - rc.begin());
    out.precision(t, r, k, a, m) = i < nd ? pr[i] : 0;
  }
}

}  // namespace

CocoAccumulation::CocoAccumulation(std::size_t categories, const CocoParams& params)
    : T(params.iou_thresholds.size()),
      R(params.recall_thresholds.size()),
      K(categories),
      A(params.area_ranges.size()),
      M(params.max_dets.size()),
      precision_(T * R * K * A * M, -1),
      recall_(T * K * A * M, -1) {}

double& CocoAccumulation::precision(std::size_t t, std::size_t r, std::size_t k, std::size_t a, std::size_t m) {
  return precision_[(((t * R + r) * K + k) * A + a) * M + m];
}
double CocoAccumulation::precision(std::size_t t, std::size_t r, std::size_t k, std::size_t a, std::size_t m) const {
  return precision_[(((t * R + r) * K + k) * A + a) * M + m];
}
double& CocoAccumulation::recall(std::size_t t, std::size_t k, std::size_t a, std::size_t m) {
  return recall_[((t * K + k) * A + a) * M + m];
}
double CocoAccumulation::recall(std::size_t t, std::size_t k, std::size_t a, std::size_t m) const {
  return recall_[((t * K + k) * A + a) * M + m];
}

void accumulate_coco_curve(const std::vector<CocoImageEval>& images, const CocoParams& params, std::size_t k,
                           std::size_t a, std::size_t m, CocoAccumulation& out) {
  int64_t counted_gts = 0;
  for (const CocoImageEval& e : images) counted_gts += e.counted_gts;
  if (counted_gts == 0) return;  // stays -1: nothing to recall

  const std::size_t T = params.iou_thresholds.size();
  const PooledDetections pooled = pool(images, T, static_cast<std::size_t>(params.max_dets[m]));
  // np.argsort(-scores, kind='mergesort'): best first, ties in pooled order.
  std::vector<std::size_t> rank(pooled.scores.size());
  std::iota(rank.begin(), rank.end(), 0);
  std::stable_sort(rank.begin(), rank.end(),
                   [&](std::size_t x, std::size_t y) { return pooled.scores[x] > pooled.scores[y]; });
  for (std::size_t t = 0; t < T; ++t) {
    fill_threshold(pooled.matched[t], pooled.ignored[t], rank, static_cast<double>(counted_gts), params, t, k, a, m,
                   out);
  }
}

}  // namespace sparrow::yolo
