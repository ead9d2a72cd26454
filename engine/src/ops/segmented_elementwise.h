// SegmentedElementwise, an internal op made by passes/fuse_segmented_elementwise: the input's
// last axis is cut into segments, each segment runs its own chain of binary steps whose other
// operand is a constant, and the results sit side by side again. It is Split -> a chain per
// output -> Concat in one pass over memory: YOLOv5's Detect head decodes boxes this way (xy,
// wh, and the class scores untouched), and unfused that is eight passes over the head.
#pragma once

#include <cstdint>
#include <vector>

#include "graph/graph.h"

namespace sparrow::ops {

enum class SegmentStepOp : int64_t { kAdd = 0, kSub = 1, kMul = 2, kDiv = 3, kPow = 4 };

struct SegmentStep {
  SegmentStepOp op = SegmentStepOp::kMul;
  bool constant_first = false;  // c - x, c / x, c ^ x rather than x - c...
  int input = 0;                // the node input holding the constant
};

// A constant operand, read at (row r, column j of a segment of width w) as element
// (r * w + j) % size: passes give either a scalar or a tensor that varies only along trailing
// dims, whose size is then a multiple of w.
struct SegmentOperand {
  const float* data = nullptr;
  int64_t size = 1;
};

struct SegmentPlan {
  int64_t rows = 0;   // product of the leading dims
  int64_t width = 0;  // the last dim
  std::vector<int64_t> offsets, widths;          // per segment
  std::vector<std::vector<SegmentStep>> steps;   // per segment, applied in order
};

// The node's attributes ("segments": widths; "step_segment", "step_op", "step_constant_first":
// one entry per step, step i reading input i + 1) checked against the input's shape and the
// operand sizes. Throws kInvalidModel naming what does not fit.
SegmentPlan segment_plan(const graph::Node& node, const Shape& input, const std::vector<int64_t>& operand_sizes);

// y rows [begin, end) from x rows; operands[i] is node input i + 1.
void run_segments(const SegmentPlan& plan, const float* x, const std::vector<SegmentOperand>& operands, float* y,
                  int64_t begin, int64_t end);

}  // namespace sparrow::ops
