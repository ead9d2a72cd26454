// How far a compressed model's Detect head is from the dense model's, in what YOLOv5's decode
// reads: the layer sensitivity measurement's yardstick.
#pragma once

#include <vector>

#include "sparrow/tensor.h"

namespace sparrow::compression {

// `dense` and `other`: [head][image] outputs of the head convs (N x 3·(5 + classes) x H x W). The
// mean over heads of the relative squared error of the sigmoids of their channels, each head
// over every image. Each anchor's objectness counts on every cell; its box and class channels
// are weighted by the dense model's objectness there, as nothing reads them on background cells
// (whose many confident zeros would otherwise weigh the most). A head whose channels are not a
// multiple of 3 of at least 6 each counts every channel alike.
double head_error(const std::vector<std::vector<Tensor>>& dense, const std::vector<std::vector<Tensor>>& other);

}  // namespace sparrow::compression
