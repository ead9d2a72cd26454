// ConvInteger (ONNX opset 10): Conv's geometry on 8-bit input and weights, returning the exact
// int32 sums of (x - x_zero_point) * (w - w_zero_point). The input's zero point is per tensor,
// the weights' per tensor or per output channel. The loops are output-stationary and integer
// throughout, so the sums are exact whatever the kernel size.
#include "ops/op_families.h"
#include "ops/qlinear_common.h"
#include "ops/window_params.h"

namespace sparrow::ops {
namespace {

enum Input { kX, kW, kXZero, kWZero };

void check_zero_point(const InferContext& ctx, size_t zero, size_t data, const char* name, int64_t channels) {
  if (!ctx.has_input(zero)) return;
  if (ctx.dtype(zero) != ctx.dtype(data)) {
    ctx.invalid(std::string(name) + " is " + dtype_name(ctx.dtype(zero)) + " but its tensor is " + dtype_name(ctx.dtype(data)));
  }
  const Shape& s = ctx.shape(zero);
  if (s.size() > 1 || (num_elements(s) != 1 && num_elements(s) != channels)) {
    ctx.invalid(std::string(name) + " has shape " + shape_string(s) + "; it must hold 1 entry" +
                (channels > 1 ? " or one per output channel (" + std::to_string(channels) + ")" : std::string()));
  }
}

std::vector<TypeShape> infer_conv_integer(const InferContext& ctx) {
  ctx.expect_inputs(2, 4);
  ctx.expect_dtype(kX, {DType::kUint8, DType::kInt8});
  ctx.expect_dtype(kW, {DType::kUint8, DType::kInt8});
  const Shape& x = ctx.shape(kX);
  const Shape& w = ctx.shape(kW);
  check_conv_shapes(ctx, x, w);
  check_zero_point(ctx, kXZero, kX, "x_zero_point", 1);
  check_zero_point(ctx, kWZero, kW, "w_zero_point", w[0]);
  const WindowParams p = window_params(ctx.attrs(), {x.begin() + 2, x.end()}, {w.begin() + 2, w.end()}, false);
  Shape out = {x[0], w[0]};
  out.insert(out.end(), p.out.begin(), p.out.end());
  return {{DType::kInt32, out}};
}

// The exact sum for output channel m at output position (od, oh, ow) of image n.
struct IntegerConv {
  const TensorView &x, &w;
  Geometry3 g;
  int64_t channels_per_group, outputs_per_group;
  int32_t x_zero;
  const std::vector<TensorView>& in;

  int64_t at(int64_t n, int64_t m, const int64_t (&o)[3]) const {
    const int64_t group = m / outputs_per_group, in_channels = x.shape[1];
    const int32_t w_zero = zero_point_at(in, kWZero, in.size() > kWZero && in[kWZero].size() > 1 ? m : 0);
    int64_t sum = 0;
    for (int64_t c = 0; c < channels_per_group; ++c) {
      const int64_t x_plane = (n * in_channels + group * channels_per_group + c) * g.in[0] * g.in[1] * g.in[2];
      const int64_t w_kernel = (m * channels_per_group + c) * g.k[0] * g.k[1] * g.k[2];
      for (int64_t kd = 0; kd < g.k[0]; ++kd) {
        for (int64_t kh = 0; kh < g.k[1]; ++kh) {
          for (int64_t kw = 0; kw < g.k[2]; ++kw) {
            const int64_t i[3] = {o[0] * g.stride[0] - g.pad[0] + kd * g.dil[0], o[1] * g.stride[1] - g.pad[1] + kh * g.dil[1],
                                  o[2] * g.stride[2] - g.pad[2] + kw * g.dil[2]};
            if (i[0] < 0 || i[0] >= g.in[0] || i[1] < 0 || i[1] >= g.in[1] || i[2] < 0 || i[2] >= g.in[2]) continue;
            const int64_t xv = integer_at(x, x_plane + (i[0] * g.in[1] + i[1]) * g.in[2] + i[2]) - x_zero;
            sum += xv * (integer_at(w, w_kernel + (kd * g.k[1] + kh) * g.k[2] + kw) - w_zero);
          }
        }
      }
    }
    return sum;
  }
};

void eval_conv_integer(const graph::Node& node, const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
  const TensorView &x = in[kX], &w = in[kW];
  const std::vector<int64_t> spatial(x.shape.begin() + 2, x.shape.end());
  const WindowParams p = window_params(node.attrs, spatial, {w.shape.begin() + 2, w.shape.end()}, false);
  const int64_t group = node.attrs.get_int("group", 1), images = x.shape[0], channels = w.shape[0];
  const IntegerConv conv{x, w, padded_to_3d(spatial, p), x.shape[1] / group, channels / group, zero_point_at(in, kXZero), in};
  const Geometry3& g = conv.g;
  int32_t* y = out[0].as<int32_t>();
  int64_t next = 0;  // output elements in row-major order
  for (int64_t n = 0; n < images; ++n) {
    for (int64_t m = 0; m < channels; ++m) {
      for (int64_t od = 0; od < g.out[0]; ++od) {
        for (int64_t oh = 0; oh < g.out[1]; ++oh) {
          for (int64_t ow = 0; ow < g.out[2]; ++ow) {
            // Sums beyond int32 wrap, as the int32 accumulators of every implementation do.
            y[next++] = static_cast<int32_t>(static_cast<uint32_t>(conv.at(n, m, {od, oh, ow})));
          }
        }
      }
    }
  }
}

}  // namespace

void register_conv_integer_ops(std::vector<OpDef>& ops) { ops.push_back({"ConvInteger", infer_conv_integer, eval_conv_integer}); }

}  // namespace sparrow::ops
