// QuantizeLinear of a float image (plain NCHW, at most kQu8QuantizeMaxChannels channels) that
// only int8 convolutions read, on f32-qu8-quantize-nhwc (kernels/f32_qu8_quantize.h): straight
// into their NHWC. Measured on pruned INT8 yolov5s at 640 (describe --profile, 2 cores): oneDNN's
// reorder to NHWC took 0.53 ms, 4 % of the inference. Threads take runs of pixels of each image.
#include <omp.h>

#include <algorithm>
#include <cmath>

#include "kernels/f32_qu8_quantize.h"
#include "kernels/quantize_params.h"
#include "kernels/selection.h"

namespace sparrow::kernels {
namespace {

class F32Qu8QuantizeKernel final : public Kernel {
 public:
  F32Qu8QuantizeKernel(const F32Qu8QuantizeVariant& v, const Shape& x, QuantizeParams q)
      : v_(v), n_(x[0]), c_(x[1]), pixels_(x[2] * x[3]), inv_scale_(1.0f / q.scale), zero_(q.zero_point) {}

  void execute(const KernelArgs& args, ExecContext&) const override {
    const auto* x = static_cast<const float*>(args.inputs[0]);
    auto* y = static_cast<uint8_t*>(args.outputs[0]);
    constexpr int64_t kRun = 4096;  // pixels per task, a multiple of every variant's step
    const int64_t runs = (pixels_ + kRun - 1) / kRun;
#pragma omp parallel for schedule(static)
    for (int64_t t = 0; t < n_ * runs; ++t) {
      const int64_t image = t / runs, p = (t % runs) * kRun, count = std::min(kRun, pixels_ - p);
      v_.ukernel(static_cast<size_t>(count), static_cast<size_t>(c_), x + image * c_ * pixels_ + p, static_cast<size_t>(pixels_),
                 y + (image * pixels_ + p) * c_, inv_scale_, zero_);
    }
  }

 private:
  const F32Qu8QuantizeVariant& v_;
  int64_t n_, c_, pixels_;
  float inv_scale_;
  int32_t zero_;
};

std::optional<Selection> declined(std::string& why_not, const std::string& why) {
  why_not = why;
  return std::nullopt;
}

}  // namespace

std::optional<Selection> select_f32_qu8_quantize_nhwc_16_avx512vbmi(const SelectContext& ctx, std::string& why_not) {
  const auto q = per_tensor_quantize_params(ctx, why_not);
  if (!q) return std::nullopt;
  if (ctx.output(0).dtype != DType::kUint8) return declined(why_not, "needs a u8 output");
  if (!ctx.available[0].is_plain() || !feeds_only_int8_convs(ctx)) {
    return declined(why_not, "only for a plain 4-D tensor that only int8 convolutions read");
  }
  const Shape& x = ctx.input(0).shape;
  if (x[1] > static_cast<int64_t>(kQu8QuantizeMaxChannels)) return declined(why_not, "more than 4 channels");
  if (!(q->scale > 0) || !std::isfinite(1.0f / q->scale)) return declined(why_not, "a scale whose reciprocal is not finite");
  Selection s;
  s.kernel = std::make_unique<F32Qu8QuantizeKernel>(f32_qu8_quantize_variants()[0], x, *q);
  s.input_layouts.assign(ctx.node.inputs.size(), Layout::plain());
  s.output_layouts = {nhwc_layout(DType::kUint8, ctx.output(0).shape)};
  s.packed_inputs = {1, 2};
  return s;
}

}  // namespace sparrow::kernels
