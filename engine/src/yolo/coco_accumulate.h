// COCOeval.accumulate: per category, area range and detection cap, the interpolated precision at
// each recall threshold and the final recall, pooled over all images.
#pragma once

#include <cstddef>
#include <vector>

#include "yolo/coco_image_eval.h"
#include "yolo/coco_params.h"

namespace sparrow::yolo {

// pycocotools' precision [T, R, K, A, M] and recall [T, K, A, M] arrays, row-major, -1 where a
// category has no counted ground truth in that area range.
class CocoAccumulation {
 public:
  CocoAccumulation(std::size_t categories, const CocoParams& params);

  double& precision(std::size_t t, std::size_t r, std::size_t k, std::size_t a, std::size_t m);
  double precision(std::size_t t, std::size_t r, std::size_t k, std::size_t a, std::size_t m) const;
  double& recall(std::size_t t, std::size_t k, std::size_t a, std::size_t m);
  double recall(std::size_t t, std::size_t k, std::size_t a, std::size_t m) const;

  std::size_t T, R, K, A, M;

 private:
  std::vector<double> precision_, recall_;
};

// Fills precision[:, :, k, a, m] and recall[:, k, a, m] from the image evaluations of category k
// and area range a (in image id order, images with neither gt nor detections left out).
void accumulate_coco_curve(const std::vector<CocoImageEval>& images, const CocoParams& params, std::size_t k,
                           std::size_t a, std::size_t m, CocoAccumulation& out);

}  // namespace sparrow::yolo
