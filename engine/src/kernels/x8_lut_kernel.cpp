// LookupTable on an x8-lut microkernel (kernels/x8_lut.h), one kernel-table row per ISA variant,
// split across the run's threads in cache-sized chunks. A lookup is elementwise, so it runs in
// the layout its input arrives in when that layout holds exactly one byte per element: the NHWC
// output of a QLinearConv feeds it, and it feeds the next conv, without reorders.
#include <omp.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "kernels/x8_lut.h"
#include "kernels/selection.h"

namespace sparrow::kernels {
namespace {

constexpr size_t kTableSize = 256;

// n bytes of x through the table to y, in chunks over the run's threads.
class TableLookup {
 public:
  TableLookup(X8LutUkernel ukernel, const Tensor& table, size_t n) : ukernel_(ukernel), n_(n) {
    std::memcpy(table_.data(), table.data(), kTableSize);
  }

  void operator()(const uint8_t* x, uint8_t* y) const {
    constexpr size_t kChunk = 16384;
    const int64_t chunks = static_cast<int64_t>((n_ + kChunk - 1) / kChunk);
#pragma omp parallel for schedule(static) if (chunks > 1)
    for (int64_t c = 0; c < chunks; ++c) {
      const size_t start = static_cast<size_t>(c) * kChunk;
      ukernel_(std::min(kChunk, n_ - start), x + start, y + start, table_.data());
    }
  }

 private:
  X8LutUkernel ukernel_;
  std::array<uint8_t, kTableSize> table_{};
  size_t n_;
};

class X8LutKernel final : public Kernel {
 public:
  X8LutKernel(X8LutUkernel ukernel, const Tensor& table, size_t n) : lookup_(ukernel, table, n) {}

  void execute(const KernelArgs& args, ExecContext&) const override {
    lookup_(static_cast<const uint8_t*>(args.inputs[0]), static_cast<uint8_t*>(args.outputs[0]));
  }

 private:
  TableLookup lookup_;
};

std::optional<Selection> select_with(X8LutUkernel ukernel, const SelectContext& ctx, std::string& why_not) {
  const Tensor* table = ctx.constant(1);
  if (!table) {
    why_not = "the table is computed at run time";
    return std::nullopt;
  }
  const graph::Value& x = ctx.input(0);
  const Layout in = holds_each_element_once(ctx.available[0], x.dtype, x.shape) ? ctx.available[0] : Layout::plain();
  Selection s;
  s.kernel = std::make_unique<X8LutKernel>(ukernel, *table, static_cast<size_t>(num_elements(x.shape)));
  s.input_layouts = {in, Layout::plain()};
  s.output_layouts = {with_dtype(in, ctx.output(0).dtype, ctx.output(0).shape)};
  s.packed_inputs = {1};
  return s;
}

}  // namespace

std::optional<Selection> select_x8_lut_avx512vbmi(const SelectContext& ctx, std::string& why_not) {
  return select_with(x8_lut_ukernel_u64_avx512vbmi, ctx, why_not);
}
std::optional<Selection> select_x8_lut_avx2(const SelectContext& ctx, std::string& why_not) {
  return select_with(x8_lut_ukernel_u32_avx2, ctx, why_not);
}
std::optional<Selection> select_x8_lut_scalar(const SelectContext& ctx, std::string& why_not) {
  return select_with(x8_lut_ukernel_u4_scalar, ctx, why_not);
}

}  // namespace sparrow::kernels
