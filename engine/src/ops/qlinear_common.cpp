#include "ops/qlinear_common.h"

#include <cmath>

namespace sparrow::ops {

int32_t integer_at(const TensorView& v, int64_t i) {
  switch (v.dtype) {
    case DType::kUint8: return v.as<uint8_t>()[i];
    case DType::kInt8: return v.as<int8_t>()[i];
    case DType::kInt32: return v.as<int32_t>()[i];
    default: return 0;
  }
}

int32_t zero_point_at(const std::vector<TensorView>& in, size_t index, int64_t i) {
  return index < in.size() && in[index].data ? integer_at(in[index], i) : 0;
}

void store_quantized(const TensorView& out, int64_t i, float real, float scale, int32_t zero) {
  const bool u8 = out.dtype == DType::kUint8;
  const float lo = u8 ? 0.0f : -128.0f, hi = u8 ? 255.0f : 127.0f;
  // nearbyint rounds half to even under the default rounding mode; fmax maps NaN to lo.
  const float q = std::fmin(std::fmax(std::nearbyint(real / scale) + static_cast<float>(zero), lo), hi);
  if (u8) out.as<uint8_t>()[i] = static_cast<uint8_t>(q);
  else out.as<int8_t>()[i] = static_cast<int8_t>(q);
}

namespace {

std::string entries(int64_t n) { return std::to_string(n) + (n == 1 ? " entry" : " entries"); }

}  // namespace

void check_scale_values(const InferContext& ctx, const Tensor& scale, const std::string& name) {
  const float* s = scale.data_as<float>();
  for (int64_t i = 0; i < scale.size(); ++i) {
    if (std::isfinite(s[i]) && s[i] > 0) continue;
    std::string what = name;
    if (scale.size() > 1) what.append("[").append(std::to_string(i)).append("]");
    ctx.invalid(what + " is " + std::to_string(s[i]) + "; a scale must be positive and finite");
  }
}

int64_t check_conv_shapes(const InferContext& ctx, const Shape& x, const Shape& w) {
  if (x.size() < 3 || x.size() > 5 || w.size() != x.size()) ctx.unsupported("only 1D, 2D and 3D convolutions are supported");
  const int64_t group = ctx.attrs().get_int("group", 1);
  if (group < 1 || x[1] % group != 0 || w[0] % group != 0 || w[1] * group != x[1]) {
    ctx.invalid("weights " + shape_string(w) + " do not fit input " + shape_string(x) + " in " + std::to_string(group) + " groups");
  }
  return group;
}

int64_t check_quant_params(const InferContext& ctx, const QuantParams& p) {
  const std::string scale_name = p.name + "_scale", zero_name = p.name + "_zero_point";
  if (!ctx.has_input(p.scale)) ctx.invalid(scale_name + " is missing");
  if (ctx.dtype(p.scale) != DType::kFloat32) ctx.invalid(scale_name + " must be float32, not " + dtype_name(ctx.dtype(p.scale)));
  const Shape& shape = ctx.shape(p.scale);
  const int64_t n = num_elements(shape);
  if (shape.size() > 1 || (n != 1 && (p.per_axis == 0 || n != p.per_axis))) {
    ctx.invalid(scale_name + " has shape " + shape_string(shape) + "; it must hold 1 entry (per tensor)" +
                (p.per_axis > 0 ? " or " + entries(p.per_axis) + " (one per " + p.per_axis_what + ")" : std::string()));
  }
  if (ctx.has_input(p.zero)) {
    const DType z = ctx.dtype(p.zero);
    if (z != p.type) ctx.invalid(zero_name + " is " + dtype_name(z) + " but " + p.name + " is " + dtype_name(p.type));
    const int64_t zn = num_elements(ctx.shape(p.zero));
    if (ctx.rank(p.zero) > 1) ctx.invalid(zero_name + " has shape " + shape_string(ctx.shape(p.zero)) + "; it must be a scalar or 1-D");
    if (zn != n) ctx.invalid(zero_name + " has " + entries(zn) + " but " + scale_name + " has " + entries(n));
  } else if (!p.zero_optional) {
    ctx.invalid(zero_name + " is missing");
  }
  if (const Tensor* scale = ctx.constant(p.scale)) check_scale_values(ctx, *scale, scale_name);
  return n;
}

}  // namespace sparrow::ops
