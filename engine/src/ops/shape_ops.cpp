// Ops that only compute or change shapes: Shape, Reshape, Flatten, Squeeze, Unsqueeze, Identity,
// and the constant producers Constant, ConstantOfShape, Range.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "ops/op_families.h"
#include "sparrow/error.h"

namespace sparrow::ops {
namespace {

// Reshape-like ops move no data: the output holds the input's bytes under a new shape.
void eval_copy(const graph::Node&, const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
  if (out[0].data != in[0].data && out[0].bytes()) std::memcpy(out[0].data, in[0].data, out[0].bytes());
}

std::vector<TypeShape> infer_identity(const InferContext& ctx) {
  ctx.expect_inputs(1, 1);
  return {{ctx.dtype(0), ctx.shape(0)}};
}

std::vector<TypeShape> infer_shape(const InferContext& ctx) {
  ctx.expect_inputs(1, 1);
  const int64_t rank = ctx.rank(0);
  int64_t start = ctx.attrs().get_int("start", 0);
  int64_t end = ctx.attrs().get_int("end", rank);
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, 0, rank);
  return {{DType::kInt64, {std::max<int64_t>(end - start, 0)}}};
}

// Shape's output depends only on the input's (static) shape, so it is recomputed from the node.
void eval_shape(const graph::Node& node, const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
  const int64_t rank = static_cast<int64_t>(in[0].shape.size());
  int64_t start = node.attrs.get_int("start", 0);
  if (start < 0) start += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  for (int64_t i = 0; i < out[0].size(); ++i) out[0].as<int64_t>()[i] = in[0].shape[start + i];
}

std::vector<TypeShape> infer_reshape(const InferContext& ctx) {
  ctx.expect_inputs(2, 2);
  ctx.expect_dtype(1, {DType::kInt64});
  const Shape& in = ctx.shape(0);
  std::vector<int64_t> dims = ctx.constant_ints(1, "shape");
  const bool allow_zero = ctx.attrs().get_int("allowzero", 0) != 0;
  int64_t infer_at = -1;
  int64_t known = 1;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == 0 && !allow_zero) {
      if (i >= in.size()) ctx.invalid("shape has 0 at dim " + std::to_string(i) + " beyond the input's rank");
      dims[i] = in[i];
    }
    if (dims[i] == -1) {
      if (infer_at >= 0) ctx.invalid("shape has more than one -1");
      infer_at = static_cast<int64_t>(i);
      continue;
    }
    if (dims[i] < 0) ctx.invalid("shape has negative dim " + std::to_string(dims[i]));
    known *= dims[i];
  }
  const int64_t total = num_elements(in);
  if (infer_at >= 0) {
    if (known == 0 || total % known != 0) ctx.invalid("cannot infer -1 reshaping " + shape_string(in));
    dims[infer_at] = total / known;
  }
  if (num_elements(dims) != total) {
    ctx.invalid("cannot reshape " + shape_string(in) + " (" + std::to_string(total) + " elements) to " +
                shape_string(dims));
  }
  return {{ctx.dtype(0), dims}};
}

std::vector<TypeShape> infer_flatten(const InferContext& ctx) {
  ctx.expect_inputs(1, 1);
  const Shape& in = ctx.shape(0);
  const int64_t rank = static_cast<int64_t>(in.size());
  int64_t axis = ctx.attrs().get_int("axis", 1);
  if (axis < -rank || axis > rank) ctx.invalid("axis " + std::to_string(axis) + " out of range");
  if (axis < 0) axis += rank;
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < rank; ++i) (i < axis ? outer : inner) *= in[i];
  return {{ctx.dtype(0), {outer, inner}}};
}

// Squeeze and Unsqueeze take axes from an attribute before opset 13, from input 1 since.
std::vector<int64_t> axes_of(const InferContext& ctx) {
  if (ctx.opset() >= 13) return ctx.has_input(1) ? ctx.constant_ints(1, "axes") : std::vector<int64_t>{};
  return ctx.attrs().get_ints("axes");
}

std::vector<TypeShape> infer_squeeze(const InferContext& ctx) {
  ctx.expect_inputs(1, 2);
  const Shape& in = ctx.shape(0);
  std::vector<int64_t> axes = axes_of(ctx);
  std::vector<bool> drop(in.size(), false);
  if (axes.empty()) {
    for (size_t i = 0; i < in.size(); ++i) drop[i] = in[i] == 1;
  }
  for (int64_t a : axes) {
    int64_t axis = normalize_axis(a, static_cast<int64_t>(in.size()));
    if (in[axis] != 1) ctx.invalid("cannot squeeze dim " + std::to_string(axis) + " of size " + std::to_string(in[axis]));
    drop[axis] = true;
  }
  Shape out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (!drop[i]) out.push_back(in[i]);
  }
  return {{ctx.dtype(0), out}};
}

std::vector<TypeShape> infer_unsqueeze(const InferContext& ctx) {
  ctx.expect_inputs(ctx.opset() >= 13 ? 2 : 1, 2);
  const Shape& in = ctx.shape(0);
  std::vector<int64_t> axes = axes_of(ctx);
  const int64_t rank = static_cast<int64_t>(in.size() + axes.size());
  std::vector<bool> inserted(rank, false);
  for (int64_t a : axes) {
    int64_t axis = normalize_axis(a, rank);
    if (inserted[axis]) ctx.invalid("axis " + std::to_string(a) + " repeated");
    inserted[axis] = true;
  }
  Shape out;
  size_t next = 0;
  for (int64_t i = 0; i < rank; ++i) out.push_back(inserted[i] ? 1 : in[next++]);
  return {{ctx.dtype(0), out}};
}

// Constant's value comes from one of several attributes; this returns it as a tensor.
Tensor constant_value(const graph::Attributes& attrs) {
  if (const Tensor* t = attrs.get_tensor("value")) return *t;
  if (attrs.has("value_float")) return Tensor::scalar<float>(attrs.get_float("value_float", 0));
  if (attrs.has("value_int")) return Tensor::scalar<int64_t>(attrs.get_int("value_int", 0));
  if (attrs.has("value_floats")) {
    auto v = attrs.get_floats("value_floats");
    return Tensor::from_vector<float>({static_cast<int64_t>(v.size())}, v);
  }
  if (attrs.has("value_ints")) {
    auto v = attrs.get_ints("value_ints");
    return Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v);
  }
  if (attrs.has("sparse_value") || attrs.has("value_string") || attrs.has("value_strings")) {
    throw Error(ErrorCode::kUnsupported, "sparse and string constants are not supported");
  }
  throw Error(ErrorCode::kInvalidModel, "Constant has no value attribute");
}

std::vector<TypeShape> infer_constant(const InferContext& ctx) {
  ctx.expect_inputs(0, 0);
  Tensor t = constant_value(ctx.attrs());
  return {{t.dtype(), t.shape()}};
}

void eval_constant(const graph::Node& node, const std::vector<TensorView>&, const std::vector<TensorView>& out) {
  Tensor t = constant_value(node.attrs);
  if (t.bytes()) std::memcpy(out[0].data, t.data(), t.bytes());
}

std::vector<TypeShape> infer_constant_of_shape(const InferContext& ctx) {
  ctx.expect_inputs(1, 1);
  ctx.expect_dtype(0, {DType::kInt64});
  std::vector<int64_t> dims = ctx.constant_ints(0, "input");
  for (int64_t d : dims) {
    if (d < 0) ctx.invalid("negative dim " + std::to_string(d));
  }
  const Tensor* value = ctx.attrs().get_tensor("value");
  if (value && value->size() != 1) ctx.invalid("value must hold one element");
  return {{value ? value->dtype() : DType::kFloat32, dims}};
}

void eval_constant_of_shape(const graph::Node& node, const std::vector<TensorView>&,
                            const std::vector<TensorView>& out) {
  const Tensor* value = node.attrs.get_tensor("value");
  const size_t width = dtype_size(out[0].dtype);
  std::byte* dst = static_cast<std::byte*>(out[0].data);
  for (int64_t i = 0; i < out[0].size(); ++i) {
    if (value) {
      std::memcpy(dst + i * width, value->data(), width);
    } else {
      std::memset(dst + i * width, 0, width);
    }
  }
}

std::vector<TypeShape> infer_range(const InferContext& ctx) {
  ctx.expect_inputs(3, 3);
  ctx.expect_dtype(0, {DType::kFloat32, DType::kInt32, DType::kInt64});
  for (size_t i = 0; i < 3; ++i) {
    if (ctx.dtype(i) != ctx.dtype(0)) ctx.invalid("start, limit and delta must have one dtype");
    if (num_elements(ctx.shape(i)) != 1) ctx.invalid("start, limit and delta must be scalars");
    if (!ctx.constant(i)) ctx.unsupported("Range needs start, limit and delta at compile time");
  }
  auto scalar = [&](size_t i) {
    const Tensor* t = ctx.constant(i);
    return t->dtype() == DType::kFloat32 ? static_cast<double>(t->data_as<float>()[0])
                                         : static_cast<double>(t->to_int64_vector()[0]);
  };
  const double start = scalar(0), limit = scalar(1), delta = scalar(2);
  if (delta == 0) ctx.invalid("delta is 0");
  const double count = std::max(std::ceil((limit - start) / delta), 0.0);
  if (count > 1e9) ctx.invalid("Range would produce " + std::to_string(count) + " elements");
  return {{ctx.dtype(0), {static_cast<int64_t>(count)}}};
}

void eval_range(const graph::Node&, const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
  dispatch_dtype(out[0].dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (!std::is_same_v<T, bool>) {
      const T start = in[0].as<T>()[0];
      const T delta = in[2].as<T>()[0];
      T* y = out[0].as<T>();
      for (int64_t i = 0; i < out[0].size(); ++i) y[i] = static_cast<T>(start + static_cast<T>(i) * delta);
    }
  });
}

}  // namespace

void register_shape_ops(std::vector<OpDef>& ops) {
  ops.push_back({"Identity", infer_identity, eval_copy});
  ops.push_back({"Shape", infer_shape, eval_shape, /*shape_only=*/true});
  ops.push_back({"Reshape", infer_reshape, eval_copy});
  ops.push_back({"Flatten", infer_flatten, eval_copy});
  ops.push_back({"Squeeze", infer_squeeze, eval_copy});
  ops.push_back({"Unsqueeze", infer_unsqueeze, eval_copy});
  ops.push_back({"Constant", infer_constant, eval_constant});
  ops.push_back({"ConstantOfShape", infer_constant_of_shape, eval_constant_of_shape});
  ops.push_back({"Range", infer_range, eval_range});
}

}  // namespace sparrow::ops
