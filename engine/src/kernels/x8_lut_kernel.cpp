// LookupTable on an x8-lut microkernel (kernels/x8_lut.h), one kernel-table row per ISA variant,
// split across the run's threads in cache-sized chunks. A lookup is elementwise, so it runs in
// the layout its input arrives in when that layout holds exactly one byte per element: the NHWC
// output of a QLinearConv feeds it, and it feeds the next conv, without reorders. A table that
// requantizes a part onto a Concat's grid writes straight into the part's channel slice.
#include <omp.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "kernels/x8_lut.h"
#include "kernels/selection.h"

namespace sparrow::kernels {
namespace {

constexpr size_t kTableSize = 256;

// n bytes of x through the table to y, in chunks over the run's threads. The bytes are rows of
// `row`, a pixel's channels where the layout is channels-last; y's rows may lie `y_stride` apart
// (a Concat's channel slice, Kernel::write_output_pixel_stride), x's are back to back.
class TableLookup {
 public:
  TableLookup(X8LutUkernel ukernel, const Tensor& table, size_t n, size_t row)
      : ukernel_(ukernel), n_(n), row_(row), y_stride_(row) {
    std::memcpy(table_.data(), table.data(), kTableSize);
  }

  void operator()(const uint8_t* x, uint8_t* y) const {
    const int64_t chunks = static_cast<int64_t>((n_ + chunk_ - 1) / chunk_);
#pragma omp parallel for schedule(static) if (chunks > 1)
    for (int64_t c = 0; c < chunks; ++c) {
      const size_t start = static_cast<size_t>(c) * chunk_, end = std::min(start + chunk_, n_);
      if (y_stride_ == row_) {
        ukernel_(end - start, x + start, y + start, table_.data());
      } else {  // chunk_ holds whole rows
        for (size_t i = start; i < end; i += row_) ukernel_(row_, x + i, y + i / row_ * y_stride_, table_.data());
      }
    }
  }

  // A row shorter than kMinStridedRow costs a microkernel call per few bytes: yolov5n's 16- and
  // 32-channel tables then took 3x their contiguous time, more than the copy they saved.
  bool set_y_stride(size_t y_stride) {
    if (row_ < kMinStridedRow || n_ % row_ != 0 || y_stride < row_) return false;
    y_stride_ = y_stride;
    chunk_ = std::max<size_t>(1, kChunk / row_) * row_;
    return true;
  }

 private:
  static constexpr size_t kChunk = 16384;
  static constexpr size_t kMinStridedRow = 64;  // one AVX-512 step
  X8LutUkernel ukernel_;
  std::array<uint8_t, kTableSize> table_{};
  size_t n_, row_, y_stride_, chunk_ = kChunk;
};

class X8LutKernel final : public Kernel {
 public:
  X8LutKernel(X8LutUkernel ukernel, const Tensor& table, size_t n, size_t row) : lookup_(ukernel, table, n, row) {}

  void execute(const KernelArgs& args, ExecContext&) const override {
    lookup_(static_cast<const uint8_t*>(args.inputs[0]), static_cast<uint8_t*>(args.outputs[0]));
  }
  bool write_output_pixel_stride(int64_t stride) override { return stride > 0 && lookup_.set_y_stride(static_cast<size_t>(stride)); }

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
  // A row is one pixel's channels where the layout is channels-last (the only layout a Concat
  // asks a stride of); else the whole tensor, which no stride fits.
  const size_t n = static_cast<size_t>(num_elements(x.shape));
  const size_t row = x.shape.size() == 4 && in == nhwc_layout(x.dtype, x.shape) ? static_cast<size_t>(x.shape[1]) : n;
  s.kernel = std::make_unique<X8LutKernel>(ukernel, *table, n, row);
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
