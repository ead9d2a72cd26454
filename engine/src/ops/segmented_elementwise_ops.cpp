// SegmentedElementwise (segmented_elementwise.h): its plan, its inference, and the row loop that
// both the reference and the kernel run.
#include "ops/segmented_elementwise.h"

#include <algorithm>
#include <cmath>
#include <numeric>

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
  return {{DType::kFloat32, ctx.shape(0)}};
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

SegmentPlan segment_plan(const graph::Node& node, const Shape& input, const std::vector<int64_t>& operand_sizes) {
  if (input.empty()) bad(node, "needs an input of rank 1 or more");
  SegmentPlan p;
  p.width = input.back();
  p.rows = p.width ? num_elements(input) / p.width : 0;
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

void run_segments(const SegmentPlan& plan, const float* x, const std::vector<SegmentOperand>& operands, float* y,
                  int64_t begin, int64_t end) {
  // Each step's position in its operand, (r * w) % size, advanced by w per row: a division per
  // step and row cost more than the step itself on YOLOv5's two-wide segments.
  std::vector<int64_t> at;
  for (size_t s = 0; s < plan.widths.size(); ++s) {
    for (const SegmentStep& step : plan.steps[s]) at.push_back((begin * plan.widths[s]) % operands[step.input - 1].size);
  }
  for (int64_t r = begin; r < end; ++r) {
    const float* xr = x + r * plan.width;
    float* yr = y + r * plan.width;
    size_t k = 0;
    for (size_t s = 0; s < plan.widths.size(); ++s) {
      const int64_t w = plan.widths[s], o = plan.offsets[s];
      std::copy(xr + o, xr + o + w, yr + o);
      for (const SegmentStep& step : plan.steps[s]) {
        const SegmentOperand& c = operands[step.input - 1];
        const float* cr = c.data + at[k];
        const int64_t stride = c.size == 1 ? 0 : 1;
        for (int64_t j = 0; j < w; ++j) {
          const float v = yr[o + j], kv = cr[j * stride];
          yr[o + j] = step.constant_first ? apply(step.op, kv, v) : apply(step.op, v, kv);
        }
        if (c.size > 1 && (at[k] += w) == c.size) at[k] = 0;
        ++k;
      }
    }
  }
}

void register_segmented_elementwise_ops(std::vector<OpDef>& ops) {
  ops.push_back({"SegmentedElementwise", infer_segmented, eval_segmented});
}

}  // namespace sparrow::ops
