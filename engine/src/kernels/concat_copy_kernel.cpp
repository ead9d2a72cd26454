// Concat as parallel memcpy, for inputs that share one dense layout (plain, or a permutation
// such as NHWC), or channel blocks of 4 along the channels. Along any axis such a concat is rows
// of contiguous bytes per input; oneDNN's generic concat moves them an order of magnitude slower
// (benchmarks/kernels).
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <utility>

#include "kernels/selection.h"
#include "ops/op_registry.h"

namespace sparrow::kernels {
namespace {

// The order of dims from outermost to innermost in memory, if `layout` is dense (no blocking,
// no gaps) for `shape`; empty otherwise.
std::vector<int> dense_order(const Layout& layout, const Shape& shape) {
  std::vector<int> order(shape.size());
  std::iota(order.begin(), order.end(), 0);
  if (layout.is_plain()) return order;
  const dnnl_memory_desc_t& md = layout.desc->data;
  if (md.format_kind != dnnl_blocked || md.format_desc.blocking.inner_nblks != 0 || md.offset0 != 0) return {};
  const auto& strides = md.format_desc.blocking.strides;
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return strides[a] > strides[b]; });
  int64_t expected = 1;
  for (size_t k = order.size(); k-- > 0;) {
    if (strides[order[k]] != expected && shape[order[k]] != 1) return {};
    expected *= shape[order[k]];
  }
  return order;
}

class ConcatCopyKernel final : public Kernel {
 public:
  ConcatCopyKernel(int64_t outer, std::vector<size_t> row_bytes) : outer_(outer), rows_(std::move(row_bytes)) {
    for (size_t r : rows_) offsets_.push_back(std::exchange(out_row_, out_row_ + r));
  }

  void execute(const KernelArgs& args, ExecContext&) const override {
    auto* out = static_cast<std::byte*>(args.outputs[0]);
    if (outer_ == 1) {
      copy_large(args, out);
      return;
    }
    // An input whose producer wrote it into its slice of the output (Selection::
    // interleaved_offsets) starts where its first row belongs.
    std::vector<size_t> copied;
    for (size_t i = 0; i < rows_.size(); ++i) {
      if (static_cast<const std::byte*>(args.inputs[i]) != out + offsets_[i]) copied.push_back(i);
    }
#pragma omp parallel for schedule(static)
    for (int64_t o = 0; o < outer_; ++o) {
      for (size_t i : copied) {
        copy_row(out + static_cast<size_t>(o) * out_row_ + offsets_[i],
                 static_cast<const std::byte*>(args.inputs[i]) + static_cast<size_t>(o) * rows_[i], rows_[i]);
      }
    }
  }


 private:
  // An NHWC concat copies a few hundred bytes per pixel and input: inline 16-byte moves, where a
  // call to memcpy per row costs about as much as the copy.
  static void copy_row(std::byte* dst, const std::byte* src, size_t bytes) {
    if (bytes % 16 != 0 || bytes > 4096) {
      std::memcpy(dst, src, bytes);
      return;
    }
    for (size_t b = 0; b < bytes; b += 16) std::memcpy(dst + b, src + b, 16);
  }

  // One row per input: split each into chunks so that every thread copies.
  void copy_large(const KernelArgs& args, std::byte* out) const {
    constexpr size_t kChunk = 256 << 10;
    std::vector<std::pair<size_t, size_t>> chunks;  // (input, chunk start)
    for (size_t i = 0; i < rows_.size(); ++i) {
      for (size_t start = 0; start < rows_[i]; start += kChunk) chunks.emplace_back(i, start);
    }
    std::vector<size_t> offsets(rows_.size(), 0);
    for (size_t i = 1; i < rows_.size(); ++i) offsets[i] = offsets[i - 1] + rows_[i - 1];
#pragma omp parallel for schedule(static)
    for (size_t c = 0; c < chunks.size(); ++c) {
      const auto [i, start] = chunks[c];
      std::memcpy(out + offsets[i] + start, static_cast<const std::byte*>(args.inputs[i]) + start,
                  std::min(kChunk, rows_[i] - start));
    }
  }

  int64_t outer_;
  std::vector<size_t> rows_, offsets_;  // each input's row bytes, and its offset in an output row
  size_t out_row_ = 0;
};

// Channel blocks of 4 (the sparse INT8 convs' planar layout) along the channels, every part whole
// blocks: each image is the parts' planes one after another.
std::optional<Selection> concat_channel_blocks(const SelectContext& ctx, int axis) {
  const graph::Value& y = ctx.output(0);
  if (axis != 1 || y.shape.size() != 4) return std::nullopt;
  std::vector<size_t> rows;
  for (size_t i = 0; i < ctx.node.inputs.size(); ++i) {
    const Shape& x = ctx.input(i).shape;
    if (x[1] % 4 != 0 || !(ctx.available[i] == channel_block4_layout(y.dtype, x))) return std::nullopt;
    rows.push_back(static_cast<size_t>(x[1] * x[2] * x[3]) * dtype_size(y.dtype));
  }
  Selection s;
  s.stacks_inputs = y.shape[0] == 1;
  s.kernel = std::make_unique<ConcatCopyKernel>(y.shape[0], std::move(rows));
  s.input_layouts = ctx.available;
  s.output_layouts = {channel_block4_layout(y.dtype, y.shape)};
  return s;
}

}  // namespace

std::optional<Selection> select_concat_copy(const SelectContext& ctx, std::string& why_not) {
  const graph::Value& y = ctx.output(0);
  const int64_t rank = static_cast<int64_t>(y.shape.size());
  if (rank == 0) {
    why_not = "scalar output";
    return std::nullopt;
  }
  const int axis = static_cast<int>(ops::normalize_axis(ctx.node.attrs.get_int("axis", 0), rank));
  if (std::optional<Selection> blocks = concat_channel_blocks(ctx, axis)) return blocks;
  const std::vector<int> order = dense_order(ctx.available[0], ctx.input(0).shape);
  for (size_t i = 0; i < ctx.node.inputs.size(); ++i) {
    if (order.empty() || dense_order(ctx.available[i], ctx.input(i).shape) != order) {
      why_not = "inputs do not share one dense layout";
      return std::nullopt;
    }
  }
  // Dims outside the axis: those before it in memory order make the rows, those after the row width.
  const auto at = std::find(order.begin(), order.end(), axis);
  int64_t outer = 1, inner = 1;
  for (auto it = order.begin(); it != at; ++it) outer *= y.shape[*it];
  for (auto it = at + 1; it != order.end(); ++it) inner *= y.shape[*it];
  std::vector<size_t> rows;
  for (size_t i = 0; i < ctx.node.inputs.size(); ++i) {
    rows.push_back(static_cast<size_t>(ctx.input(i).shape[axis] * inner) * dtype_size(y.dtype));
  }
  Selection s;
  s.stacks_inputs = outer == 1;
  if (outer > 1 && inner == 1) {  // rows of one pixel's channels, channels last
    for (size_t r : rows) s.interleaved_offsets.push_back(std::exchange(s.interleaved_row_bytes, s.interleaved_row_bytes + r));
  }
  s.kernel = std::make_unique<ConcatCopyKernel>(outer, std::move(rows));
  s.input_layouts = ctx.available;
  if (ctx.available[0].is_plain()) {
    s.output_layouts = {Layout::plain()};
  } else {
    // The output keeps the inputs' dim order: strides built from the same permutation.
    dnnl::memory::dims strides(rank);
    int64_t stride = 1;
    for (size_t k = order.size(); k-- > 0;) {
      strides[order[k]] = stride;
      stride *= y.shape[order[k]];
    }
    s.output_layouts = {layout_of(dnnl::memory::desc(onednn_dims(y.shape), onednn_dtype(y.dtype), strides), y.dtype, y.shape)};
  }
  return s;
}

}  // namespace sparrow::kernels
