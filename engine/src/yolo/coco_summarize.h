// COCOeval.summarize for boxes: the twelve AP/AR numbers, and the per-category AP that tools
// built on pycocotools (detectron2, ultralytics) print beside them.
#pragma once

#include <array>
#include <cstddef>

#include "yolo/coco_accumulate.h"

namespace sparrow::yolo {

std::array<double, 12> summarize_coco_stats(const CocoAccumulation& acc, const CocoParams& params);

// Mean of precision[:, :, k, all, last max_dets] over entries > -1; -1 when there are none.
double coco_category_ap(const CocoAccumulation& acc, std::size_t k);

}  // namespace sparrow::yolo
