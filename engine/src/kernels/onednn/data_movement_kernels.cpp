// Transpose, Slice and Split as oneDNN reorders between strided views; layout reorders; copies.
#include <algorithm>
#include <cstring>

#include "kernels/onednn/primitive_kernel.h"
#include "kernels/selection.h"
#include "ops/op_registry.h"

namespace sparrow::kernels {
namespace {

// Several reorders reading one input, one per output: Split's parts.
class MultiReorderKernel final : public Kernel {
 public:
  struct Part {
    dnnl::reorder reorder;
    dnnl::memory::desc src, dst;
  };
  explicit MultiReorderKernel(std::vector<Part> parts, std::string name) : parts_(std::move(parts)), name_(std::move(name)) {}

  void execute(const KernelArgs& args, ExecContext& ctx) const override {
    for (size_t i = 0; i < parts_.size(); ++i) {
      dnnl::memory src(parts_[i].src, cpu_engine(), args.inputs[0]);
      dnnl::memory dst(parts_[i].dst, cpu_engine(), args.outputs[i]);
      parts_[i].reorder.execute(*ctx.stream, src, dst);
    }
  }
  std::string implementation() const override { return name_; }

 private:
  std::vector<Part> parts_;
  std::string name_;
};

class CopyKernel final : public Kernel {
 public:
  explicit CopyKernel(size_t bytes) : bytes_(bytes) {}
  void execute(const KernelArgs& args, ExecContext&) const override {
    if (bytes_) std::memcpy(args.outputs[0], args.inputs[0], bytes_);
  }

 private:
  size_t bytes_;
};

bool movable(const SelectContext& ctx, std::string& why_not) {
  const graph::Value& x = ctx.input(0);
  if (!onednn_supports(x.dtype) || x.shape.empty() || num_elements(x.shape) == 0) {
    why_not = "dtype or shape not supported by oneDNN reorder";
    return false;
  }
  for (size_t i = 0; i < ctx.node.outputs.size(); ++i) {
    if (num_elements(ctx.output(i).shape) == 0) {
      why_not = "empty output";
      return false;
    }
  }
  return true;
}

}  // namespace

std::optional<Selection> select_onednn_transpose(const SelectContext& ctx, std::string& why_not) {
  if (!movable(ctx, why_not)) return std::nullopt;
  const graph::Value& x = ctx.input(0);
  const Shape& y = ctx.output(0).shape;
  std::vector<int64_t> perm = ctx.node.attrs.get_ints("perm");
  if (perm.empty()) {
    for (size_t i = x.shape.size(); i-- > 0;) perm.push_back(static_cast<int64_t>(i));
  }
  // A strided input (a view of a conv's NHWC output) is read where it is: one pass, not a
  // reorder to plain and then the transpose.
  const Layout input = element_strides(ctx.available[0], x.shape) ? ctx.available[0] : Layout::plain();
  const std::vector<int64_t> in_strides = *element_strides(input, x.shape);
  dnnl::memory::dims strides;
  for (int64_t p : perm) strides.push_back(in_strides[p]);
  const dnnl::memory::desc src(onednn_dims(y), onednn_dtype(x.dtype), strides);
  const dnnl::memory::desc dst = plain_desc(x.dtype, y);
  dnnl::reorder::primitive_desc pd(cpu_engine(), src, cpu_engine(), dst, default_attr());
  Selection s;
  s.kernel = std::make_unique<PrimitiveKernel>(dnnl::reorder(pd), pd, std::vector<ArgBinding>{{DNNL_ARG_FROM, 0, src}},
                                               std::vector<ArgBinding>{{DNNL_ARG_TO, 0, dst}});
  s.input_layouts = {input};
  s.output_layouts = {Layout::plain()};
  return s;
}

// Slice with unit steps and Split: each output is a box of the input, copied by a reorder from a
// sub-memory view.
std::optional<Selection> select_onednn_slice(const SelectContext& ctx, std::string& why_not) {
  if (!movable(ctx, why_not)) return std::nullopt;
  const graph::Value& x = ctx.input(0);
  std::vector<dnnl::memory::dims> offsets;
  if (ctx.node.op == "Split") {
    const int64_t axis = ops::normalize_axis(ctx.node.attrs.get_int("axis", 0), static_cast<int64_t>(x.shape.size()));
    int64_t start = 0;
    for (size_t i = 0; i < ctx.node.outputs.size(); ++i) {
      dnnl::memory::dims off(x.shape.size(), 0);
      off[axis] = start;
      start += ctx.output(i).shape[axis];
      offsets.push_back(off);
    }
  } else {
    if (ctx.node.opset < 10 || ctx.node.inputs.size() < 3) {
      why_not = "Slice-1 attribute form";
      return std::nullopt;
    }
    for (size_t i = 1; i < ctx.node.inputs.size(); ++i) {
      if (ctx.has_input(i) && !ctx.constant(i)) {
        why_not = "slice parameters are computed at run time";
        return std::nullopt;
      }
    }
    const Shape& y = ctx.output(0).shape;
    std::vector<int64_t> starts = ctx.constant(1)->to_int64_vector();
    std::vector<int64_t> axes = ctx.constant(3) ? ctx.constant(3)->to_int64_vector() : std::vector<int64_t>{};
    std::vector<int64_t> steps = ctx.constant(4) ? ctx.constant(4)->to_int64_vector() : std::vector<int64_t>{};
    dnnl::memory::dims off(x.shape.size(), 0);
    for (size_t i = 0; i < starts.size(); ++i) {
      if (!steps.empty() && steps[i] != 1) {
        why_not = "steps other than 1";
        return std::nullopt;
      }
      const int64_t axis = ops::normalize_axis(axes.empty() ? static_cast<int64_t>(i) : axes[i], static_cast<int64_t>(x.shape.size()));
      int64_t start = starts[i] < 0 ? starts[i] + x.shape[axis] : starts[i];
      off[axis] = std::clamp<int64_t>(start, 0, x.shape[axis] - y[axis]);
    }
    offsets.push_back(off);
  }
  const dnnl::memory::desc whole = plain_desc(x.dtype, x.shape);
  std::vector<MultiReorderKernel::Part> parts;
  std::string name;
  for (size_t i = 0; i < offsets.size(); ++i) {
    const Shape& y = ctx.output(i).shape;
    const dnnl::memory::desc src = whole.submemory_desc(onednn_dims(y), offsets[i]);
    const dnnl::memory::desc dst = plain_desc(x.dtype, y);
    // Reorders of plain views need no scratchpad, so the kernel passes none.
    dnnl::reorder::primitive_desc pd(cpu_engine(), src, cpu_engine(), dst);
    name = implementation_name(pd);
    parts.push_back({dnnl::reorder(pd), src, dst});
  }
  Selection s;
  s.kernel = std::make_unique<MultiReorderKernel>(std::move(parts), name);
  s.input_layouts.assign(ctx.node.inputs.size(), Layout::plain());
  s.output_layouts.assign(ctx.node.outputs.size(), Layout::plain());
  return s;
}

std::unique_ptr<Kernel> make_reorder(DType dtype, const Shape& shape, const Layout& from, const Layout& to) {
  const dnnl::memory::desc src = desc_of(from, dtype, shape);
  const dnnl::memory::desc dst = desc_of(to, dtype, shape);
  dnnl::reorder::primitive_desc pd(cpu_engine(), src, cpu_engine(), dst, default_attr());
  return std::make_unique<PrimitiveKernel>(dnnl::reorder(pd), pd, std::vector<ArgBinding>{{DNNL_ARG_FROM, 0, src}},
                                           std::vector<ArgBinding>{{DNNL_ARG_TO, 0, dst}});
}

std::unique_ptr<Kernel> make_copy(size_t bytes) { return std::make_unique<CopyKernel>(bytes); }

}  // namespace sparrow::kernels
