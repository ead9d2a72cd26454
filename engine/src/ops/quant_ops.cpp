// QuantizeLinear and DequantizeLinear (opsets 10 and 13): the QDQ form of quantized ONNX models.
// A scale and zero point are per tensor (scalars) or per channel along `axis` (1-D, one entry
// per channel; opset 13). y = saturate(round_half_even(x / scale) + zero_point) and
// x = (q - zero_point) * scale, computed in float as the ONNX reference does.
// DynamicQuantizeLinear (opset 11), which ONNX Runtime's dynamic quantizer writes before
// ConvInteger and MatMulInteger, quantizes to u8 on a grid it takes from the data's own range.
#include <cmath>
#include <limits>
#include <type_traits>

#include "ops/op_families.h"
#include "ops/qlinear_common.h"

namespace sparrow::ops {
namespace {

// Checks scale (input 1) and zero point (input 2) against the data (input 0); returns the
// channel axis, or -1 for per-tensor parameters.
int64_t quant_axis(const InferContext& ctx) {
  ctx.expect_dtype(1, {DType::kFloat32});
  const Shape& scale = ctx.shape(1);
  if (scale.size() > 1) ctx.invalid("the scale must be a scalar or 1-D, not " + shape_string(scale));
  if (ctx.has_input(2) && ctx.shape(2) != scale) {
    ctx.invalid("the zero point's shape " + shape_string(ctx.shape(2)) + " differs from the scale's " + shape_string(scale));
  }
  if (const Tensor* s = ctx.constant(1)) check_scale_values(ctx, *s, "the scale");
  if (num_elements(scale) == 1) return -1;
  if (ctx.opset() < 13) ctx.invalid("a per-channel scale needs opset 13 or later");
  const int64_t axis = normalize_axis(ctx.attrs().get_int("axis", 1), ctx.rank(0));
  if (ctx.shape(0)[axis] != scale[0]) {
    ctx.invalid("the scale has " + std::to_string(scale[0]) + " entries for the " + std::to_string(ctx.shape(0)[axis]) +
                " channels of axis " + std::to_string(axis));
  }
  return axis;
}

std::vector<TypeShape> infer_quantize(const InferContext& ctx) {
  ctx.expect_inputs(2, 3);
  ctx.expect_dtype(0, {DType::kFloat32, DType::kInt32});
  if (ctx.has_input(2)) ctx.expect_dtype(2, {DType::kUint8, DType::kInt8});
  quant_axis(ctx);
  return {{ctx.has_input(2) ? ctx.dtype(2) : DType::kUint8, ctx.shape(0)}};
}

std::vector<TypeShape> infer_dequantize(const InferContext& ctx) {
  ctx.expect_inputs(2, 3);
  ctx.expect_dtype(0, {DType::kUint8, DType::kInt8, DType::kInt32});
  if (ctx.has_input(2) && ctx.dtype(2) != ctx.dtype(0)) {
    ctx.invalid(std::string("the zero point is ") + dtype_name(ctx.dtype(2)) + " but the data is " + dtype_name(ctx.dtype(0)));
  }
  // ONNX: int32 (a bias on the accumulator's grid) has no zero point but 0.
  if (ctx.dtype(0) == DType::kInt32 && ctx.constant(2)) {
    for (int64_t z : ctx.constant(2)->to_int64_vector()) {
      if (z != 0) ctx.invalid("the zero point of int32 data must be 0, not " + std::to_string(z));
    }
  }
  quant_axis(ctx);
  return {{DType::kFloat32, ctx.shape(0)}};
}

// For element i of a tensor, the index of its scale: 0 per tensor, else its channel.
struct ChannelOf {
  int64_t inner = 1, channels = 1;
  ChannelOf(const TensorView& data, const TensorView& scale, const graph::Node& node) {
    if (scale.size() == 1) return;
    const int64_t rank = static_cast<int64_t>(data.shape.size());
    const int64_t axis = normalize_axis(node.attrs.get_int("axis", 1), rank);
    channels = data.shape[axis];
    for (int64_t d = axis + 1; d < rank; ++d) inner *= data.shape[d];
  }
  int64_t operator()(int64_t i) const { return channels == 1 ? 0 : (i / inner) % channels; }
};

int32_t zero_point_at(const TensorView& zp, int64_t c) {
  if (!zp.data) return 0;
  switch (zp.dtype) {
    case DType::kUint8: return zp.as<uint8_t>()[c];
    case DType::kInt8: return zp.as<int8_t>()[c];
    case DType::kInt32: return zp.as<int32_t>()[c];
    default: return 0;
  }
}

template <typename Q, typename X>
void quantize(const std::vector<TensorView>& in, const TensorView& out, const ChannelOf& channel_of) {
  const X* x = in[0].as<X>();
  const float* scale = in[1].as<float>();
  Q* y = out.as<Q>();
  constexpr float lo = std::numeric_limits<Q>::lowest(), hi = std::numeric_limits<Q>::max();
  const TensorView zp = in.size() > 2 ? in[2] : TensorView{};
  for (int64_t i = 0; i < out.size(); ++i) {
    const int64_t c = channel_of(i);
    // nearbyint rounds half to even under the default rounding mode.
    const float q = std::nearbyint(static_cast<float>(x[i]) / scale[c]) + static_cast<float>(zero_point_at(zp, c));
    y[i] = static_cast<Q>(std::isnan(q) ? 0.0f : std::fmin(std::fmax(q, lo), hi));
  }
}

void eval_quantize(const graph::Node& node, const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
  const ChannelOf channel_of(in[0], in[1], node);
  dispatch_dtype(in[0].dtype, [&](auto x_tag) {
    using X = decltype(x_tag);
    if constexpr (std::is_same_v<X, float> || std::is_same_v<X, int32_t>) {
      if (out[0].dtype == DType::kUint8) quantize<uint8_t, X>(in, out[0], channel_of);
      else quantize<int8_t, X>(in, out[0], channel_of);
    }
  });
}

void eval_dequantize(const graph::Node& node, const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
  const ChannelOf channel_of(in[0], in[1], node);
  const float* scale = in[1].as<float>();
  float* y = out[0].as<float>();
  const TensorView zp = in.size() > 2 ? in[2] : TensorView{};
  dispatch_dtype(in[0].dtype, [&](auto q_tag) {
    using Q = decltype(q_tag);
    if constexpr (std::is_same_v<Q, uint8_t> || std::is_same_v<Q, int8_t> || std::is_same_v<Q, int32_t>) {
      const Q* q = in[0].as<Q>();
      for (int64_t i = 0; i < out[0].size(); ++i) {
        const int64_t c = channel_of(i);
        y[i] = static_cast<float>(static_cast<int64_t>(q[i]) - zero_point_at(zp, c)) * scale[c];
      }
    }
  });
}

std::vector<TypeShape> infer_dynamic_quantize(const InferContext& ctx) {
  ctx.expect_inputs(1, 1);
  ctx.expect_dtype(0, {DType::kFloat32});
  return {{DType::kUint8, ctx.shape(0)}, {DType::kFloat32, {}}, {DType::kUint8, {}}};
}

// ONNX's definition: the range always holds 0; scale = (max - min) / 255, zero point =
// saturate(round(-min / scale)). A constant-zero tensor has scale 0: the data quantizes to the
// zero point (0), as the ONNX reference computes it (0 / 0 is NaN, saturated to 0).
void eval_dynamic_quantize(const graph::Node&, const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
  const float* x = in[0].as<float>();
  float lo = 0.0f, hi = 0.0f;
  for (int64_t i = 0; i < in[0].size(); ++i) {
    lo = std::fmin(lo, x[i]);
    hi = std::fmax(hi, x[i]);
  }
  const float scale = (hi - lo) / 255.0f;
  const float zero = scale == 0.0f ? 0.0f : std::fmin(std::fmax(std::nearbyint(-lo / scale), 0.0f), 255.0f);
  uint8_t* y = out[0].as<uint8_t>();
  for (int64_t i = 0; i < in[0].size(); ++i) {
    const float q = scale == 0.0f ? zero : std::nearbyint(x[i] / scale) + zero;
    y[i] = static_cast<uint8_t>(std::isnan(q) ? 0.0f : std::fmin(std::fmax(q, 0.0f), 255.0f));
  }
  out[1].as<float>()[0] = scale;
  out[2].as<uint8_t>()[0] = static_cast<uint8_t>(zero);
}

}  // namespace

void register_quant_ops(std::vector<OpDef>& ops) {
  ops.push_back({"QuantizeLinear", infer_quantize, eval_quantize});
  ops.push_back({"DequantizeLinear", infer_dequantize, eval_dequantize});
  ops.push_back({"DynamicQuantizeLinear", infer_dynamic_quantize, eval_dynamic_quantize});
}

}  // namespace sparrow::ops
