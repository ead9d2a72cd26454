// QLinearAdd on a qu8-vadd microkernel (kernels/qu8_vadd.h), one kernel-table row per ISA
// variant, split across the run's threads in cache-sized chunks.
#include <omp.h>

#include <algorithm>

#include "kernels/qu8_vadd.h"
#include "kernels/selection.h"
#include "ops/fused_attrs.h"

namespace sparrow::kernels {
namespace {

enum Input { kA, kAScale, kAZero, kB, kBScale, kBZero, kYScale, kYZero };

class Qu8AddKernel final : public Kernel {
 public:
  Qu8AddKernel(Qu8VaddUkernel ukernel, Qu8AddParams params, size_t n) : ukernel_(ukernel), params_(params), n_(n) {}

  void execute(const KernelArgs& args, ExecContext&) const override {
    const auto* a = static_cast<const uint8_t*>(args.inputs[kA]);
    const auto* b = static_cast<const uint8_t*>(args.inputs[kB]);
    auto* y = static_cast<uint8_t*>(args.outputs[0]);
    constexpr size_t kChunk = 16384;
    const int64_t chunks = static_cast<int64_t>((n_ + kChunk - 1) / kChunk);
#pragma omp parallel for schedule(static) if (chunks > 1)
    for (int64_t c = 0; c < chunks; ++c) {
      const size_t start = static_cast<size_t>(c) * kChunk;
      ukernel_(std::min(kChunk, n_ - start), a + start, b + start, y + start, params_);
    }
  }

 private:
  Qu8VaddUkernel ukernel_;
  Qu8AddParams params_;
  size_t n_;
};

float scalar_float(const SelectContext& ctx, int i) { return ctx.constant(i)->data_as<float>()[0]; }
int32_t scalar_integer(const SelectContext& ctx, int i) { return ctx.constant(i)->data_as<uint8_t>()[0]; }

// The add's grids from its inputs first + kAScale... (QLinearAdd's order): nullopt with why_not
// set unless each is a constant, the zero points u8.
std::optional<Qu8AddParams> add_params(const SelectContext& ctx, int first, std::string& why_not) {
  for (int i : {kAScale, kAZero, kBScale, kBZero, kYScale, kYZero}) {
    if (!ctx.has_input(first + i)) {
      why_not = "a zero point is omitted";
      return std::nullopt;
    }
    if (!ctx.constant(first + i)) {
      why_not = "quantization parameters computed at run time";
      return std::nullopt;
    }
  }
  for (int i : {kAZero, kBZero, kYZero}) {
    if (ctx.input(first + i).dtype != DType::kUint8) {
      why_not = "needs u8 zero points";
      return std::nullopt;
    }
  }
  return qu8_add_params(scalar_float(ctx, first + kAScale), scalar_integer(ctx, first + kAZero),
                        scalar_float(ctx, first + kBScale), scalar_integer(ctx, first + kBZero),
                        scalar_float(ctx, first + kYScale), scalar_integer(ctx, first + kYZero));
}

std::optional<Selection> select_with(Qu8VaddUkernel ukernel, const SelectContext& ctx, std::string& why_not) {
  // QLinearAdd broadcasts and may be int8; the microkernel adds two u8 vectors of one length.
  if (ctx.input(kA).shape != ctx.input(kB).shape || ctx.input(kB).dtype != DType::kUint8) {
    why_not = "needs two uint8 operands of one shape";
    return std::nullopt;
  }
  const std::optional<Qu8AddParams> p = add_params(ctx, 0, why_not);
  if (!p) return std::nullopt;
  Selection s;
  s.kernel = std::make_unique<Qu8AddKernel>(ukernel, *p, static_cast<size_t>(num_elements(ctx.output(0).shape)));
  s.input_layouts.assign(ctx.node.inputs.size(), Layout::plain());
  // Elementwise: both operands in A's layout (the convolutions' NHWC, say) when it holds each
  // element once, which saves a reorder each way around every residual add.
  const Layout& a = ctx.available[kA];
  if (holds_each_element_once(a, DType::kUint8, ctx.input(kA).shape)) s.input_layouts[kA] = s.input_layouts[kB] = a;
  s.output_layouts = {s.input_layouts[kA]};
  s.packed_inputs = {kAScale, kAZero, kBScale, kBZero, kYScale, kYZero};
  return s;
}

}  // namespace

std::optional<FusedResidualAdd> fused_residual_add(const SelectContext& ctx, std::string& why_not) {
  why_not.clear();
  if (ctx.node.attrs.get_int(ops::kAddAttr, 0) == 0) return std::nullopt;
  const int a = ops::kAddInput + kA, b = ops::kAddInput + kB;
  FusedResidualAdd fused;
  fused.add.residual_first = ctx.has_input(a);
  fused.input = fused.add.residual_first ? a : b;
  if (ctx.input(fused.input).dtype != DType::kUint8 || ctx.output(0).dtype != DType::kUint8) {
    why_not = "a fused add needs u8 operands";
    return std::nullopt;
  }
  const std::optional<Qu8AddParams> p = add_params(ctx, ops::kAddInput, why_not);
  if (!p) {
    why_not = "the fused add: " + why_not;
    return std::nullopt;
  }
  fused.add.params = *p;
  return fused;
}

void pack_inputs_but_residual(Selection& s, const SelectContext& ctx, const std::optional<FusedResidualAdd>& add) {
  if (add) s.input_layouts[static_cast<size_t>(add->input)] = s.output_layouts[0];
  for (int i = 1; i < static_cast<int>(ctx.node.inputs.size()); ++i) {
    if (!add || i != add->input) s.packed_inputs.push_back(i);
  }
}

std::optional<Selection> select_qu8_add_avx512(const SelectContext& ctx, std::string& why_not) {
  return select_with(qu8_vadd_ukernel_u16_avx512, ctx, why_not);
}
std::optional<Selection> select_qu8_add_avx2(const SelectContext& ctx, std::string& why_not) {
  return select_with(qu8_vadd_ukernel_u8_avx2, ctx, why_not);
}
std::optional<Selection> select_qu8_add_scalar(const SelectContext& ctx, std::string& why_not) {
  return select_with(qu8_vadd_ukernel_u1_scalar, ctx, why_not);
}

}  // namespace sparrow::kernels
