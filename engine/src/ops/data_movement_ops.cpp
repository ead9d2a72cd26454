// Ops that move elements without arithmetic: Concat, Split, Slice, Transpose, Gather, Expand.
#include <algorithm>
#include <cstring>
#include <limits>

#include "ops/broadcast.h"
#include "ops/op_families.h"
#include "sparrow/error.h"

namespace sparrow::ops {
namespace {

// Views a tensor as [outer, axis, inner] around one axis.
struct AxisSplit {
  int64_t outer = 1, inner = 1;
};

AxisSplit split_around(const Shape& shape, int64_t axis) {
  AxisSplit s;
  for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); ++i) {
    if (i < axis) s.outer *= shape[i];
    if (i > axis) s.inner *= shape[i];
  }
  return s;
}

// ---- Concat

std::vector<TypeShape> infer_concat(const InferContext& ctx) {
  if (ctx.num_inputs() < 1) ctx.invalid("needs at least one input");
  ctx.expect_inputs(ctx.num_inputs(), ctx.num_inputs());
  const int64_t rank = ctx.rank(0);
  const int64_t axis = normalize_axis(ctx.attrs().get_int("axis", 0), rank);
  Shape out = ctx.shape(0);
  out[axis] = 0;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    const Shape& s = ctx.shape(i);
    if (ctx.dtype(i) != ctx.dtype(0)) ctx.invalid("inputs have different dtypes");
    if (static_cast<int64_t>(s.size()) != rank) ctx.invalid("inputs have different ranks");
    for (int64_t d = 0; d < rank; ++d) {
      if (d != axis && s[d] != out[d]) {
        ctx.invalid("input " + std::to_string(i) + " shape " + shape_string(s) + " does not match " +
                    shape_string(ctx.shape(0)) + " outside axis " + std::to_string(axis));
      }
    }
    out[axis] += s[axis];
  }
  return {{ctx.dtype(0), out}};
}

void eval_concat(const graph::Node& node, const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
  const int64_t rank = static_cast<int64_t>(out[0].shape.size());
  const int64_t axis = normalize_axis(node.attrs.get_int("axis", 0), rank);
  const AxisSplit s = split_around(out[0].shape, axis);
  const size_t width = dtype_size(out[0].dtype);
  const int64_t out_row = out[0].shape[axis] * s.inner;
  int64_t offset = 0;
  for (const TensorView& x : in) {
    const int64_t row = x.shape[axis] * s.inner;
    for (int64_t o = 0; o < s.outer; ++o) {
      std::memcpy(static_cast<std::byte*>(out[0].data) + (o * out_row + offset) * width,
                  static_cast<const std::byte*>(x.data) + o * row * width, row * width);
    }
    offset += row;
  }
}

// ---- Split

std::vector<int64_t> split_sizes(const InferContext& ctx, int64_t dim) {
  std::vector<int64_t> sizes;
  if (ctx.opset() >= 13) {
    if (ctx.has_input(1)) sizes = ctx.constant_ints(1, "split");
  } else {
    sizes = ctx.attrs().get_ints("split");
  }
  const int64_t parts = static_cast<int64_t>(ctx.node().outputs.size());
  if (sizes.empty()) {
    if (parts == 0 || dim % parts != 0) {
      ctx.invalid("dim " + std::to_string(dim) + " does not split into " + std::to_string(parts) + " equal parts");
    }
    sizes.assign(parts, dim / parts);
  }
  int64_t total = 0;
  for (int64_t s : sizes) {
    if (s < 0) ctx.invalid("negative split size");
    total += s;
  }
  if (total != dim || static_cast<int64_t>(sizes.size()) != parts) {
    ctx.invalid("split sizes do not add up to dim " + std::to_string(dim) + " over " + std::to_string(parts) + " outputs");
  }
  return sizes;
}

std::vector<TypeShape> infer_split(const InferContext& ctx) {
  ctx.expect_inputs(1, 2);
  const int64_t axis = normalize_axis(ctx.attrs().get_int("axis", 0), ctx.rank(0));
  std::vector<TypeShape> out;
  for (int64_t size : split_sizes(ctx, ctx.shape(0)[axis])) {
    Shape s = ctx.shape(0);
    s[axis] = size;
    out.push_back({ctx.dtype(0), s});
  }
  return out;
}

void eval_split(const graph::Node& node, const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
  const int64_t axis = normalize_axis(node.attrs.get_int("axis", 0), static_cast<int64_t>(in[0].shape.size()));
  const AxisSplit s = split_around(in[0].shape, axis);
  const size_t width = dtype_size(in[0].dtype);
  const int64_t in_row = in[0].shape[axis] * s.inner;
  int64_t offset = 0;
  for (const TensorView& y : out) {
    const int64_t row = y.shape[axis] * s.inner;
    for (int64_t o = 0; o < s.outer; ++o) {
      std::memcpy(static_cast<std::byte*>(y.data) + o * row * width,
                  static_cast<const std::byte*>(in[0].data) + (o * in_row + offset) * width, row * width);
    }
    offset += row;
  }
}

// ---- Slice

struct SliceParams {
  std::vector<int64_t> starts, steps;  // per input dim, normalised and clamped
  Shape out;
};

SliceParams slice_params(const Shape& in, std::vector<int64_t> starts, std::vector<int64_t> ends,
                         std::vector<int64_t> axes, std::vector<int64_t> steps) {
  const int64_t rank = static_cast<int64_t>(in.size());
  if (axes.empty()) {
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  }
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size()) {
    throw Error(ErrorCode::kInvalidModel, "starts, ends, axes and steps have different lengths");
  }
  SliceParams p{std::vector<int64_t>(rank, 0), std::vector<int64_t>(rank, 1), in};
  std::vector<bool> seen(rank, false);
  for (size_t i = 0; i < starts.size(); ++i) {
    const int64_t axis = normalize_axis(axes[i], rank);
    if (seen[axis]) throw Error(ErrorCode::kInvalidModel, "axis " + std::to_string(axes[i]) + " repeated");
    seen[axis] = true;
    const int64_t dim = in[axis];
    const int64_t step = steps[i];
    if (step == 0) throw Error(ErrorCode::kInvalidModel, "slice step is 0");
    int64_t start = starts[i] < 0 ? starts[i] + dim : starts[i];
    int64_t end = ends[i] < 0 ? ends[i] + dim : ends[i];
    if (step > 0) {
      start = std::clamp<int64_t>(start, 0, dim);
      end = std::clamp<int64_t>(end, 0, dim);
    } else {
      start = std::clamp<int64_t>(start, 0, dim - 1);
      end = std::clamp<int64_t>(end, -1, dim - 1);
    }
    const int64_t span = step > 0 ? end - start : start - end;
    const int64_t abs_step = step > 0 ? step : -step;
    p.out[axis] = span <= 0 ? 0 : (span + abs_step - 1) / abs_step;
    p.starts[axis] = start;
    p.steps[axis] = step;
  }
  return p;
}

// Slice-1 (before opset 10) takes starts/ends/axes as attributes, later versions as inputs.
SliceParams slice_params(const InferContext& ctx) {
  if (ctx.opset() < 10) {
    ctx.expect_inputs(1, 1);
    return slice_params(ctx.shape(0), ctx.attrs().get_ints("starts"), ctx.attrs().get_ints("ends"),
                        ctx.attrs().get_ints("axes"), {});
  }
  ctx.expect_inputs(3, 5);
  return slice_params(ctx.shape(0), ctx.constant_ints(1, "starts"), ctx.constant_ints(2, "ends"),
                      ctx.has_input(3) ? ctx.constant_ints(3, "axes") : std::vector<int64_t>{},
                      ctx.has_input(4) ? ctx.constant_ints(4, "steps") : std::vector<int64_t>{});
}

std::vector<TypeShape> infer_slice(const InferContext& ctx) { return {{ctx.dtype(0), slice_params(ctx).out}}; }

// Slice needs its parameters again at evaluation; they are constants folded into the node.
void eval_slice(const graph::Node& node, const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
  SliceParams p;
  if (in.size() == 1) {
    p = slice_params(in[0].shape, node.attrs.get_ints("starts"), node.attrs.get_ints("ends"),
                     node.attrs.get_ints("axes"), {});
  } else {
    auto ints = [&](size_t i) {
      std::vector<int64_t> v;
      if (i >= in.size() || !in[i].data) return v;
      for (int64_t k = 0; k < in[i].size(); ++k) {
        v.push_back(in[i].dtype == DType::kInt32 ? in[i].as<int32_t>()[k] : in[i].as<int64_t>()[k]);
      }
      return v;
    };
    p = slice_params(in[0].shape, ints(1), ints(2), ints(3), ints(4));
  }
  const int64_t rank = static_cast<int64_t>(in[0].shape.size());
  const size_t width = dtype_size(in[0].dtype);
  std::vector<int64_t> in_strides(rank, 1);
  for (int64_t d = rank - 2; d >= 0; --d) in_strides[d] = in_strides[d + 1] * in[0].shape[d + 1];
  std::vector<int64_t> index(rank, 0);
  const int64_t total = out[0].size();
  for (int64_t i = 0; i < total; ++i) {
    int64_t src = 0;
    for (int64_t d = 0; d < rank; ++d) src += (p.starts[d] + index[d] * p.steps[d]) * in_strides[d];
    std::memcpy(static_cast<std::byte*>(out[0].data) + i * width,
                static_cast<const std::byte*>(in[0].data) + src * width, width);
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++index[d] < p.out[d]) break;
      index[d] = 0;
    }
  }
}

// ---- Transpose

std::vector<int64_t> perm_of(const graph::Attributes& attrs, int64_t rank) {
  std::vector<int64_t> perm = attrs.get_ints("perm");
  if (perm.empty()) {
    for (int64_t i = rank - 1; i >= 0; --i) perm.push_back(i);
  }
  return perm;
}

std::vector<TypeShape> infer_transpose(const InferContext& ctx) {
  ctx.expect_inputs(1, 1);
  const Shape& in = ctx.shape(0);
  std::vector<int64_t> perm = perm_of(ctx.attrs(), ctx.rank(0));
  if (static_cast<int64_t>(perm.size()) != ctx.rank(0)) ctx.invalid("perm length does not match the rank");
  std::vector<bool> used(perm.size(), false);
  Shape out;
  for (int64_t p : perm) {
    if (p < 0 || p >= ctx.rank(0) || used[p]) ctx.invalid("perm is not a permutation");
    used[p] = true;
    out.push_back(in[p]);
  }
  return {{ctx.dtype(0), out}};
}

void eval_transpose(const graph::Node& node, const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
  const int64_t rank = static_cast<int64_t>(in[0].shape.size());
  const std::vector<int64_t> perm = perm_of(node.attrs, rank);
  std::vector<int64_t> in_strides(rank, 1);
  for (int64_t d = rank - 2; d >= 0; --d) in_strides[d] = in_strides[d + 1] * in[0].shape[d + 1];
  Shape permuted_strides(rank);
  for (int64_t d = 0; d < rank; ++d) permuted_strides[d] = in_strides[perm[d]];
  const size_t width = dtype_size(in[0].dtype);
  std::vector<int64_t> index(rank, 0);
  int64_t src = 0;
  for (int64_t i = 0; i < out[0].size(); ++i) {
    std::memcpy(static_cast<std::byte*>(out[0].data) + i * width,
                static_cast<const std::byte*>(in[0].data) + src * width, width);
    for (int64_t d = rank - 1; d >= 0; --d) {
      src += permuted_strides[d];
      if (++index[d] < out[0].shape[d]) break;
      src -= permuted_strides[d] * out[0].shape[d];
      index[d] = 0;
    }
  }
}

// ---- Gather

std::vector<TypeShape> infer_gather(const InferContext& ctx) {
  ctx.expect_inputs(2, 2);
  ctx.expect_dtype(1, {DType::kInt32, DType::kInt64});
  const Shape& data = ctx.shape(0);
  if (data.empty()) ctx.invalid("data must have rank >= 1");
  const int64_t axis = normalize_axis(ctx.attrs().get_int("axis", 0), static_cast<int64_t>(data.size()));
  if (const Tensor* idx = ctx.constant(1)) {
    for (int64_t i : idx->to_int64_vector()) {
      if (i < -data[axis] || i >= data[axis]) ctx.invalid("index " + std::to_string(i) + " is out of range");
    }
  }
  Shape out(data.begin(), data.begin() + axis);
  const Shape& indices = ctx.shape(1);
  out.insert(out.end(), indices.begin(), indices.end());
  out.insert(out.end(), data.begin() + axis + 1, data.end());
  return {{ctx.dtype(0), out}};
}

void eval_gather(const graph::Node& node, const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
  const Shape& data = in[0].shape;
  const int64_t axis = normalize_axis(node.attrs.get_int("axis", 0), static_cast<int64_t>(data.size()));
  const AxisSplit s = split_around(data, axis);
  const int64_t dim = data[axis];
  const int64_t count = in[1].size();
  const size_t width = dtype_size(in[0].dtype);
  for (int64_t o = 0; o < s.outer; ++o) {
    for (int64_t k = 0; k < count; ++k) {
      int64_t i = in[1].dtype == DType::kInt32 ? in[1].as<int32_t>()[k] : in[1].as<int64_t>()[k];
      if (i < 0) i += dim;
      std::byte* dst = static_cast<std::byte*>(out[0].data) + ((o * count + k) * s.inner) * width;
      if (i < 0 || i >= dim) {
        // Runtime indices are data: out-of-range ones give zeros instead of reading out of bounds.
        std::memset(dst, 0, s.inner * width);
        continue;
      }
      std::memcpy(dst, static_cast<const std::byte*>(in[0].data) + ((o * dim + i) * s.inner) * width, s.inner * width);
    }
  }
}

// ---- Expand

std::vector<TypeShape> infer_expand(const InferContext& ctx) {
  ctx.expect_inputs(2, 2);
  ctx.expect_dtype(1, {DType::kInt64});
  return {{ctx.dtype(0), broadcast_shapes({ctx.shape(0), ctx.constant_ints(1, "shape")})}};
}

void eval_expand(const graph::Node&, const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
  const size_t width = dtype_size(in[0].dtype);
  for_each_broadcast<1>(out[0].shape, {in[0].shape}, [&](int64_t i, const int64_t* o) {
    std::memcpy(static_cast<std::byte*>(out[0].data) + i * width,
                static_cast<const std::byte*>(in[0].data) + o[0] * width, width);
  });
}

}  // namespace

void register_data_movement_ops(std::vector<OpDef>& ops) {
  ops.push_back({"Concat", infer_concat, eval_concat});
  ops.push_back({"Split", infer_split, eval_split});
  ops.push_back({"Slice", infer_slice, eval_slice});
  ops.push_back({"Transpose", infer_transpose, eval_transpose});
  ops.push_back({"Gather", infer_gather, eval_gather});
  ops.push_back({"Expand", infer_expand, eval_expand});
}

}  // namespace sparrow::ops
