// Nearest-neighbour Resize / Upsample geometry: for every output index along each dim, the input
// index ONNX's coordinate transformation and rounding mode select.
#pragma once

#include <cstdint>
#include <vector>

#include "graph/graph.h"

namespace sparrow::ops {

struct NearestResize {
  Shape out;
  std::vector<std::vector<int64_t>> source;  // source[d][o]: input index for output index o of dim d
};

// `scales` or `sizes` (one of them non-empty) as given to the node. Throws kUnsupported for
// non-nearest modes and tf_crop_and_resize.
NearestResize nearest_resize(const graph::Node& node, const Shape& in, const std::vector<float>& scales,
                             const std::vector<int64_t>& sizes);

}  // namespace sparrow::ops
