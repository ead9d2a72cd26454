// QLinearConv: ONNX's quantized convolution, which the QDQ passes also produce from
// DequantizeLinear -> Conv [-> activation] -> QuantizeLinear (with Sparrow's fused activation
// attribute). The reference is the oracle of the INT8 kernels, which must agree with it to one
// step of the output's grid.
#include <cmath>
#include <limits>

#include "ops/fused_attrs.h"
#include "ops/op_families.h"
#include "ops/qlinear_common.h"
#include "ops/window_params.h"

namespace sparrow::ops {
namespace {

enum Input { kX, kXScale, kXZero, kW, kWScale, kWZero, kYScale, kYZero, kBias };

void expect_per_tensor(const InferContext& ctx, size_t i, const char* what) {
  if (num_elements(ctx.shape(i)) != 1) ctx.unsupported(std::string(what) + " must be per tensor, not " + shape_string(ctx.shape(i)));
}

// The table Sparrow's fuse_conv_lookup pass may add (kTableAttr): 256 bytes of the output's type.
void check_table(const InferContext& ctx) {
  if (ctx.attrs().get_int(kTableAttr, 0) == 0) {
    if (ctx.num_inputs() > kTableInput && ctx.has_input(kTableInput)) ctx.invalid("input 9 is set without a fused table");
    return;
  }
  if (!ctx.has_input(kTableInput)) ctx.invalid("the fused table (input 9) is missing");
  if (ctx.dtype(kTableInput) != ctx.dtype(kYZero)) ctx.invalid("the fused table's type differs from the output's");
  if (num_elements(ctx.shape(kTableInput)) != 256) ctx.invalid("the fused table does not have 256 entries");
}

bool fused_add(const graph::Attributes& attrs) { return attrs.get_int(kAddAttr, 0) != 0; }

// The residual add Sparrow's fuse_conv_residual pass may add (kAddAttr): a QLinearAdd's inputs
// with the conv's result absent from exactly one of its operands' slots, the other operand of
// the conv's type and output shape. Returns the output's type.
DType check_add(const InferContext& ctx, const Shape& conv_output) {
  const DType type = ctx.dtype(kYZero);
  if (!fused_add(ctx.attrs())) return type;
  if (ctx.num_inputs() != kAddInput + 8) ctx.invalid("a fused add needs inputs 10 to 17");
  const int a = kAddInput, b = kAddInput + 3;
  if (ctx.has_input(a) == ctx.has_input(b)) ctx.invalid("a fused add needs exactly one of its operands (input 10 or 13)");
  const int residual = ctx.has_input(a) ? a : b;
  if (ctx.dtype(residual) != type || ctx.shape(residual) != conv_output) {
    ctx.invalid("the fused add's operand is " + std::string(dtype_name(ctx.dtype(residual))) + " " +
                shape_string(ctx.shape(residual)) + ", the conv's output " + dtype_name(type) + " " + shape_string(conv_output));
  }
  for (int i = kAddInput; i < kAddInput + 8; ++i) {
    if (i != a && i != b && !ctx.has_input(i)) ctx.invalid("the fused add's input " + std::to_string(i) + " is missing");
  }
  for (int i : {a + 1, b + 1, kAddInput + 6}) ctx.expect_dtype(i, {DType::kFloat32});
  for (int i : {a + 2, b + 2, kAddInput + 7}) ctx.expect_dtype(i, {type});
  return type;
}

bool float_output(const graph::Attributes& attrs) { return attrs.get_int(kFloatOutputAttr, 0) != 0; }

// y_scale and y_zero_point, or their absence with a float output (kFloatOutputAttr).
void check_output_grid(const InferContext& ctx) {
  if (float_output(ctx.attrs())) {
    if (ctx.has_input(kYScale) || ctx.has_input(kYZero)) ctx.invalid("a float output has no y_scale or y_zero_point");
    if (ctx.attrs().get_int(kTableAttr, 0) != 0) ctx.invalid("a float output cannot take a table");
    if (fused_add(ctx.attrs())) ctx.invalid("a float output cannot take a fused add");
    return;
  }
  ctx.expect_dtype(kYZero, {DType::kUint8, DType::kInt8});
  ctx.expect_dtype(kYScale, {DType::kFloat32});
  expect_per_tensor(ctx, kYScale, "y_scale");
  if (const Tensor* scale = ctx.constant(kYScale)) check_scale_values(ctx, *scale, "y_scale");
  check_table(ctx);
}

std::vector<TypeShape> infer_qlinear_conv(const InferContext& ctx) {
  ctx.expect_inputs(float_output(ctx.attrs()) ? 6 : 8, fused_add(ctx.attrs()) ? kAddInput + 8 : kTableInput + 1);
  ctx.expect_dtype(kX, {DType::kUint8, DType::kInt8});
  ctx.expect_dtype(kW, {DType::kUint8, DType::kInt8});
  for (Input i : {kXScale, kWScale}) ctx.expect_dtype(i, {DType::kFloat32});
  if (ctx.dtype(kXZero) != ctx.dtype(kX) || ctx.dtype(kWZero) != ctx.dtype(kW)) ctx.invalid("a zero point's type differs from its tensor's");
  expect_per_tensor(ctx, kXScale, "x_scale");
  for (auto [i, name] : {std::pair{kXScale, "x_scale"}, {kWScale, "w_scale"}}) {
    if (const Tensor* scale = ctx.constant(i)) check_scale_values(ctx, *scale, name);
  }
  check_output_grid(ctx);
  const Shape& x = ctx.shape(kX);
  const Shape& w = ctx.shape(kW);
  check_conv_shapes(ctx, x, w);
  const int64_t ws = num_elements(ctx.shape(kWScale));
  if (ws != 1 && ws != w[0]) ctx.invalid("w_scale has " + std::to_string(ws) + " entries for " + std::to_string(w[0]) + " output channels");
  if (ctx.shape(kWZero) != ctx.shape(kWScale)) ctx.invalid("w_zero_point's shape differs from w_scale's");
  if (ctx.has_input(kBias)) {
    ctx.expect_dtype(kBias, {float_output(ctx.attrs()) ? DType::kFloat32 : DType::kInt32});
    if (ctx.shape(kBias) != Shape{w[0]}) ctx.invalid("bias shape " + shape_string(ctx.shape(kBias)) + " is not [" + std::to_string(w[0]) + "]");
  }
  const WindowParams p = window_params(ctx.attrs(), {x.begin() + 2, x.end()}, {w.begin() + 2, w.end()}, false);
  Shape out = {x[0], w[0]};
  out.insert(out.end(), p.out.begin(), p.out.end());
  activation_of(ctx.attrs());
  return {{float_output(ctx.attrs()) ? DType::kFloat32 : check_add(ctx, out), out}};
}

template <typename T>
int32_t integer_at(const TensorView& v, int64_t i) {
  return static_cast<int32_t>(v.as<T>()[i]);
}

int32_t integer(const TensorView& v, int64_t i) {
  switch (v.dtype) {
    case DType::kUint8: return integer_at<uint8_t>(v, i);
    case DType::kInt8: return integer_at<int8_t>(v, i);
    case DType::kInt32: return integer_at<int32_t>(v, i);
    default: return 0;
  }
}

// Accumulates (x - x_zero) * (w - w_zero) + B as integers (held in floats: exact below 2^24,
// within a float's rounding beyond), then scales, applies the activation and requantizes, in the
// order oneDNN's int8 convolution does. A float output adds its float bias after scaling.
void eval_conv(const graph::Node& node, const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
  const TensorView& x = in[kX];
  const TensorView& w = in[kW];
  const int64_t channels = w.shape[0];
  const bool per_channel = in[kWScale].size() > 1;
  std::vector<float> xi(static_cast<size_t>(x.size())), wi(static_cast<size_t>(w.size())), bias(static_cast<size_t>(channels));
  const int32_t x_zero = integer(in[kXZero], 0);
  for (int64_t i = 0; i < x.size(); ++i) xi[i] = static_cast<float>(integer(x, i) - x_zero);
  const int64_t per_output = w.size() / channels;
  for (int64_t i = 0; i < w.size(); ++i) wi[i] = static_cast<float>(integer(w, i) - integer(in[kWZero], per_channel ? i / per_output : 0));
  const bool has_bias = in.size() > kBias && in[kBias].data;
  const bool to_float = float_output(node.attrs);  // the float bias comes after scaling
  for (int64_t m = 0; m < channels; ++m) bias[m] = has_bias && !to_float ? static_cast<float>(integer(in[kBias], m)) : 0.0f;

  graph::Node plain_conv = node;  // the activation comes after scaling
  plain_conv.attrs.set(kActivationAttr, std::string());
  std::vector<float> acc(static_cast<size_t>(out[0].size()));
  find_op("Conv")->evaluate(plain_conv,
                            {{DType::kFloat32, x.shape, xi.data()}, {DType::kFloat32, w.shape, wi.data()},
                             {DType::kFloat32, {channels}, bias.data()}},
                            {{DType::kFloat32, out[0].shape, acc.data()}});

  const Activation act = activation_of(node.attrs);
  const float x_scale = in[kXScale].as<float>()[0];
  const int64_t plane = out[0].size() / (out[0].shape[0] * channels);
  if (to_float) {
    for (int64_t i = 0; i < out[0].size(); ++i) {
      const int64_t m = (i / plane) % channels;
      const float scale = x_scale * in[kWScale].as<float>()[per_channel ? m : 0];
      out[0].as<float>()[i] = apply_activation(act, acc[i] * scale + (has_bias ? in[kBias].as<float>()[m] : 0.0f));
    }
    return;
  }
  const float y_scale = in[kYScale].as<float>()[0];
  const float y_zero = static_cast<float>(integer(in[kYZero], 0));
  const bool u8 = out[0].dtype == DType::kUint8;
  const uint8_t* table = node.attrs.get_int(kTableAttr, 0) != 0 ? in[kTableInput].as<uint8_t>() : nullptr;
  const float lo = u8 ? 0.0f : -128.0f, hi = u8 ? 255.0f : 127.0f;
  for (int64_t i = 0; i < out[0].size(); ++i) {
    const int64_t m = (i / plane) % channels;
    const float scale = x_scale * in[kWScale].as<float>()[per_channel ? m : 0];
    // Without an activation, one multiplier as ONNX Runtime applies it (rounded the same way).
    const float y = act == Activation::kNone ? acc[i] * (scale / y_scale) : apply_activation(act, acc[i] * scale) / y_scale;
    const float q = std::fmin(std::fmax(std::nearbyint(y) + y_zero, lo), hi);
    const auto byte = u8 ? static_cast<uint8_t>(q) : static_cast<uint8_t>(static_cast<int8_t>(q));
    out[0].as<uint8_t>()[i] = table ? table[byte] : byte;
  }
}

// The conv, then its fused add (kAddAttr) as QLinearAdd evaluates it, the conv's result in its
// operand's slot.
void eval_qlinear_conv(const graph::Node& node, const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
  if (!fused_add(node.attrs)) {
    eval_conv(node, in, out);
    return;
  }
  Tensor result(in[kYZero].dtype, out[0].shape);
  const TensorView conv = TensorView::of(result);
  eval_conv(node, in, {conv});
  std::vector<TensorView> add(in.begin() + kAddInput, in.begin() + kAddInput + 8);
  add[add[0].data ? 3 : 0] = conv;
  graph::Node plain_add;
  plain_add.op = "QLinearAdd";
  find_op(kMicrosoftDomain, "QLinearAdd")->evaluate(plain_add, add, out);
}

}  // namespace

void register_qlinear_conv_ops(std::vector<OpDef>& ops) {
  ops.push_back({"QLinearConv", infer_qlinear_conv, eval_qlinear_conv});
}

}  // namespace sparrow::ops
