// SegmentedElementwise (segmented_elementwise.h): its plan, its inference, and the row loop that
// both the reference and the kernel run.
#include "ops/segmented_elementwise.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "ops/op_families.h"
#include "sparrow/error.h"

namespace sparrow::ops {
namespace {

[[noreturn]] void bad(const graph::Node& node, const std::string& why) {
  throw Error(ErrorCode::kInvalidModel, node.label() + ": " + why);
}

void read_steps(const graph::Node& node, size_t segments, std::vector<std::vector<SegmentStep>>& out) {
  const auto seg = node.attrs.get_ints("step_segment"), op = node.attrs.get_ints("step_op"),
             first = node.attrs.get_ints("step_constant_first");
  if (op.size() != seg.size() || first.size() != seg.size() || seg.size() + 1 != node.inputs.size()) {
    bad(node, "needs one step_segment, step_op and step_constant_first per constant input");
  }
  out.assign(segments, {});
  for (size_t i = 0; i < seg.size(); ++i) {
    if (seg[i] < 0 || seg[i] >= static_cast<int64_t>(segments)) bad(node, "step " + std::to_string(i) + " names no segment");
    if (op[i] < 0 || op[i] > static_cast<int64_t>(SegmentStepOp::kPow)) bad(node, "step " + std::to_string(i) + " has no op");
    const SegmentStep step{static_cast<SegmentStepOp>(op[i]), first[i] != 0, static_cast<int>(i + 1)};
    out[seg[i]].push_back(step);
  }
}

inline float apply(SegmentStepOp op, float a, float b) {
  switch (op) {
    case SegmentStepOp::kAdd: return a + b;
    case SegmentStepOp::kSub: return a - b;
    case SegmentStepOp::kMul: return a * b;
    case SegmentStepOp::kDiv: return a / b;
    // YOLOv5's wh = (2s)^2: std::pow costs tens of cycles where the square costs one.
    case SegmentStepOp::kPow: return b == 2.0f ? a * a : std::pow(a, b);
  }
  return a;
}

std::vector<TypeShape> infer_segmented(const InferContext& ctx) {
  ctx.expect_dtype(0, {DType::kFloat32});
  std::vector<int64_t> sizes;
  for (size_t i = 1; i < ctx.num_inputs(); ++i) {
    ctx.expect_dtype(i, {DType::kFloat32});
    sizes.push_back(num_elements(ctx.shape(i)));
  }
  segment_plan(ctx.node(), ctx.shape(0), sizes);
  return {{DType::kFloat32, segmented_output_shape(ctx.node(), ctx.shape(0))}};
}

void eval_segmented(const graph::Node& node, const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
  std::vector<int64_t> sizes;
  std::vector<SegmentOperand> operands;
  for (size_t i = 1; i < in.size(); ++i) {
    sizes.push_back(in[i].size());
    operands.push_back({in[i].as<float>(), in[i].size()});
  }
  const SegmentPlan plan = segment_plan(node, in[0].shape, sizes);
  run_segments(plan, in[0].as<float>(), operands, out[0].as<float>(), 0, plan.rows);
}

}  // namespace

Shape segmented_output_shape(const graph::Node& node, const Shape& input) {
  if (input.empty()) bad(node, "needs an input of rank 1 or more");
  const int64_t k = node.attrs.get_int("from_axis", -1);
  if (k == -1) return input;
  if (k < 0 || k >= static_cast<int64_t>(input.size())) bad(node, "from_axis " + std::to_string(k) + " is not an axis of the input");
  Shape out = input;
  out.erase(out.begin() + k);
  out.push_back(input[static_cast<size_t>(k)]);
  return out;
}

bool SegmentPlan::contiguous() const {
  if (column_stride != 1) return false;
  int64_t expected = width;
  for (size_t d = row_dims.size(); d-- > 0;) {
    if (row_dims[d] != 1 && row_strides[d] != expected) return false;
    expected *= row_dims[d];
  }
  return true;
}

SegmentPlan segment_plan(const graph::Node& node, const Shape& input, const std::vector<int64_t>& operand_sizes,
                         std::vector<int64_t> strides) {
  const Shape output = segmented_output_shape(node, input);
  if (strides.empty()) {
    strides.assign(input.size(), 1);
    for (size_t d = input.size(); d-- > 1;) strides[d - 1] = strides[d] * input[d];
  }
  if (strides.size() != input.size()) bad(node, "strides do not match the input's rank");
  SegmentPlan p;
  p.width = output.back();
  p.rows = p.width ? num_elements(output) / p.width : 0;
  int64_t k = node.attrs.get_int("from_axis", -1);  // checked by segmented_output_shape
  if (k == -1) k = static_cast<int64_t>(input.size()) - 1;
  for (size_t d = 0; d < input.size(); ++d) {
    if (static_cast<int64_t>(d) == k) continue;
    p.row_dims.push_back(input[d]);
    p.row_strides.push_back(strides[d]);
  }
  p.column_stride = strides[static_cast<size_t>(k)];
  p.widths = node.attrs.get_ints("segments");
  int64_t offset = 0;
  for (int64_t w : p.widths) {
    if (w < 0) bad(node, "a segment has negative width");
    p.offsets.push_back(offset);
    offset += w;
  }
  if (offset != p.width) {
    bad(node, "segments cover " + std::to_string(offset) + " of the last axis' " + std::to_string(p.width));
  }
  read_steps(node, p.widths.size(), p.steps);
  for (size_t s = 0; s < p.steps.size(); ++s) {
    for (const SegmentStep& step : p.steps[s]) {
      const int64_t n = operand_sizes[step.input - 1], w = p.widths[s];
      if (n < 1 || (n != 1 && (w == 0 || n % w != 0 || (p.rows * w) % n != 0))) {
        bad(node, "constant " + std::to_string(step.input) + " of " + std::to_string(n) +
                      " elements does not tile a segment of width " + std::to_string(w));
      }
    }
  }
  return p;
}

namespace {

// One step over rows [0, rows) of a segment: y[r * stride + j] op= its operand, which starts at
// element `at` and advances by the segment's width per row (wrapping at its size). The op is a
// template argument so that the row loop has no switch in it.
template <SegmentStepOp kOp, bool kConstantFirst>
void run_step(float* y, int64_t stride, int64_t rows, int64_t w, const SegmentOperand& c, int64_t at) {
  for (int64_t r = 0; r < rows; ++r) {
    float* yr = y + r * stride;
    if (c.size == 1) {
      for (int64_t j = 0; j < w; ++j) yr[j] = kConstantFirst ? apply(kOp, c.data[0], yr[j]) : apply(kOp, yr[j], c.data[0]);
      continue;
    }
    const float* cr = c.data + at;
    for (int64_t j = 0; j < w; ++j) yr[j] = kConstantFirst ? apply(kOp, cr[j], yr[j]) : apply(kOp, yr[j], cr[j]);
    if ((at += w) == c.size) at = 0;
  }
}

template <SegmentStepOp kOp>
void run_step(bool constant_first, float* y, int64_t stride, int64_t rows, int64_t w, const SegmentOperand& c, int64_t at) {
  if (constant_first) {
    run_step<kOp, true>(y, stride, rows, w, c, at);
  } else {
    run_step<kOp, false>(y, stride, rows, w, c, at);
  }
}

// Rows [begin, end) of x as the plan reads them, one after another into y: a copy per row where
// its elements are adjacent, else column by column over runs of rows along the last row dim.
void gather_rows(const SegmentPlan& plan, const float* x, int64_t x_base, int64_t begin, int64_t end, float* y) {
  const size_t dims = plan.row_dims.size();
  std::vector<int64_t> index(dims, 0);
  int64_t offset = -x_base;
  for (int64_t rest = begin, d = static_cast<int64_t>(dims); d-- > 0;) {
    index[d] = rest % plan.row_dims[d];
    rest /= plan.row_dims[d];
    offset += index[d] * plan.row_strides[d];
  }
  const int64_t last = dims ? plan.row_dims[dims - 1] : 1, step = dims ? plan.row_strides[dims - 1] : 0;
  for (int64_t r = begin; r < end;) {
    const int64_t run = std::min(end - r, last - (dims ? index[dims - 1] : 0));
    float* yr = y + (r - begin) * plan.width;
    if (plan.column_stride == 1) {
      for (int64_t m = 0; m < run; ++m) {
        const float* xr = x + offset + m * step;
        float* ym = yr + m * plan.width;
        for (int64_t j = 0; j < plan.width; ++j) ym[j] = xr[j];
      }
    } else {
      for (int64_t j = 0; j < plan.width; ++j) {
        const float* xj = x + offset + j * plan.column_stride;
        for (int64_t m = 0; m < run; ++m) yr[m * plan.width + j] = xj[m * step];
      }
    }
    r += run;
    // Advance the index by `run` rows: the last dim wraps to 0, carrying into the others.
    offset += run * step;
    if (dims == 0) continue;
    index[dims - 1] += run;
    for (size_t d = dims; d-- > 1 && index[d] == plan.row_dims[d];) {
      offset -= index[d] * plan.row_strides[d];
      index[d] = 0;
      ++index[d - 1];
      offset += plan.row_strides[d - 1];
    }
  }
}

}  // namespace

// The rows are copied whole, then each step runs over them, column segment by column segment:
// YOLOv5's class scores (81 of 85 columns) are then one copy, and the box steps loop without a
// dispatch per element. The same arithmetic per element as step after step on each row.
void run_segments(const SegmentPlan& plan, const float* x, const std::vector<SegmentOperand>& operands, float* y,
                  int64_t begin, int64_t end, int64_t x_base) {
  const int64_t rows = end - begin;
  if (rows <= 0) return;
  float* yb = y + begin * plan.width;
  if (!plan.contiguous()) {
    gather_rows(plan, x, x_base, begin, end, yb);
  } else if (x + begin * plan.width - x_base != yb) {
    std::copy(x + begin * plan.width - x_base, x + end * plan.width - x_base, yb);
  }
  for (size_t s = 0; s < plan.widths.size(); ++s) {
    const int64_t w = plan.widths[s];
    for (const SegmentStep& step : plan.steps[s]) {
      const SegmentOperand& c = operands[step.input - 1];
      const int64_t at = (begin * w) % c.size;
      float* ys = yb + plan.offsets[s];
      switch (step.op) {
        case SegmentStepOp::kAdd: run_step<SegmentStepOp::kAdd>(step.constant_first, ys, plan.width, rows, w, c, at); break;
        case SegmentStepOp::kSub: run_step<SegmentStepOp::kSub>(step.constant_first, ys, plan.width, rows, w, c, at); break;
        case SegmentStepOp::kMul: run_step<SegmentStepOp::kMul>(step.constant_first, ys, plan.width, rows, w, c, at); break;
        case SegmentStepOp::kDiv: run_step<SegmentStepOp::kDiv>(step.constant_first, ys, plan.width, rows, w, c, at); break;
        case SegmentStepOp::kPow: run_step<SegmentStepOp::kPow>(step.constant_first, ys, plan.width, rows, w, c, at); break;
      }
    }
  }
}

void register_segmented_elementwise_ops(std::vector<OpDef>& ops) {
  ops.push_back({"SegmentedElementwise", infer_segmented, eval_segmented});
}

}  // namespace sparrow::ops
