#include "yolo/coco_params.h"

#include "yolo/coco_numpy.h"

namespace sparrow::yolo {

const CocoParams& coco_default_params() {
  // The same linspace arithmetic as numpy, so thresholds like 0.8999999999999999 (not 0.9) match.
  static const CocoParams params{
      numpy_linspace(0.5, 0.95, 10),
      numpy_linspace(0.0, 1.0, 101),
      {{{0, 1e10}, {0, 32 * 32}, {32 * 32, 96 * 96}, {96 * 96, 1e10}}},
      {1, 10, 100},
  };
  return params;
}

}  // namespace sparrow::yolo
