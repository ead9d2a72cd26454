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

// With attribute "from_axis" = k the op also moves the input's axis k to the end, as the
// Transpose before YOLOv5's decode does: output rows run over the input's other axes in order,
// row r gathering the input's elements along k. The input may be strided (a conv's NHWC output
// seen through a Reshape): YOLOv5's rows are then 85 contiguous floats each, and the decode is one
// pass over the head where a transpose took two.
struct SegmentPlan {
  int64_t rows = 0;   // product of the output's leading dims
  int64_t width = 0;  // the output's last dim
  // Element j of row r is x[offset(r) + j * column_stride], offset(r) the dot product of r's
  // index over row_dims (row-major) with row_strides.
  std::vector<int64_t> row_dims, row_strides;
  int64_t column_stride = 1;
  bool contiguous() const;  // rows one after another: x[r * width + j]
  std::vector<int64_t> offsets, widths;          // per segment
  std::vector<std::vector<SegmentStep>> steps;   // per segment, applied in order
};

// The node's attributes ("segments": widths; "step_segment", "step_op", "step_constant_first":
// one entry per step, step i reading input i + 1; "from_axis") checked against the input's shape
// and the operand sizes. `strides`: the input's element strides, row-major when empty. Throws
// kInvalidModel naming what does not fit.
SegmentPlan segment_plan(const graph::Node& node, const Shape& input, const std::vector<int64_t>& operand_sizes,
                         std::vector<int64_t> strides = {});
// The output's shape: the input's, with axis "from_axis" (if any) moved last.
Shape segmented_output_shape(const graph::Node& node, const Shape& input);

// y rows [begin, end) from x rows; operands[i] is node input i + 1. x holds the input from
// element x_base on: a band of it, where the rows read lie.
void run_segments(const SegmentPlan& plan, const float* x, const std::vector<SegmentOperand>& operands, float* y,
                  int64_t begin, int64_t end, int64_t x_base = 0);

}  // namespace sparrow::ops
