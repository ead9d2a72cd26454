// SegmentedElementwise (ops/segmented_elementwise.h) on plain float rows, split over threads.
// It is memory-bound: one read and one write of the tensor, where the unfused Split, steps and
// Concat made one each per node. It reads its input in any strided layout (kernels/layout.h).
#include <algorithm>

#include "kernels/layout.h"
#include "kernels/selection.h"
#include "ops/segmented_elementwise.h"

namespace sparrow::kernels {
namespace {

class SegmentedElementwiseKernel final : public Kernel {
 public:
  SegmentedElementwiseKernel(ops::SegmentPlan plan, std::vector<Tensor> constants)
      : plan_(std::move(plan)), constants_(std::move(constants)) {
    for (const Tensor& c : constants_) operands_.push_back({c.data_as<float>(), c.size()});
  }

  void execute(const KernelArgs& args, ExecContext&) const override {
    const auto* x = static_cast<const float*>(args.inputs[0]);
    auto* y = static_cast<float*>(args.outputs[0]);
    constexpr int64_t kRowsPerTask = 64;  // 22 KB of YOLOv5 rows: the steps find them in L1
    const int64_t tasks = (plan_.rows + kRowsPerTask - 1) / kRowsPerTask;
#pragma omp parallel for schedule(static)
    for (int64_t t = 0; t < tasks; ++t) {
      ops::run_segments(plan_, x, operands_, y, t * kRowsPerTask, std::min(plan_.rows, (t + 1) * kRowsPerTask));
    }
  }

  size_t constant_bytes() const override {
    size_t bytes = 0;
    for (const Tensor& c : constants_) bytes += c.bytes();
    return bytes;
  }

 private:
  ops::SegmentPlan plan_;
  std::vector<Tensor> constants_;
  std::vector<ops::SegmentOperand> operands_;
};

}  // namespace

std::optional<Selection> select_segmented_elementwise(const SelectContext& ctx, std::string& why_not) {
  std::vector<Tensor> constants;
  std::vector<int64_t> sizes;
  Selection s;
  // A strided input (a conv's NHWC output through a Reshape) is read as it is: the plan's gather.
  const std::optional<std::vector<int64_t>> strides = element_strides(ctx.available[0], ctx.input(0).shape);
  s.input_layouts = {strides ? ctx.available[0] : Layout::plain()};
  for (size_t i = 1; i < ctx.node.inputs.size(); ++i) {
    if (!ctx.constant(i)) {
      why_not = "operand " + std::to_string(i) + " is computed at run time";
      return std::nullopt;
    }
    constants.push_back(ctx.constant(i)->clone());
    sizes.push_back(constants.back().size());
    s.input_layouts.push_back(Layout::plain());
    s.packed_inputs.push_back(static_cast<int>(i));
  }
  s.kernel = std::make_unique<SegmentedElementwiseKernel>(
      ops::segment_plan(ctx.node, ctx.input(0).shape, sizes, strides.value_or(std::vector<int64_t>{})), std::move(constants));
  s.output_layouts = {Layout::plain()};
  return s;
}

}  // namespace sparrow::kernels
