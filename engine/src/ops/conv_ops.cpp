// Conv (1D to 3D, groups, dilation, and Sparrow's fused activation + residual) and ConvTranspose.
// Plain loops: the oracle that the oneDNN and sparse kernels are tested against.
#include <cmath>
#include <cstring>

#include "ops/fused_attrs.h"
#include "ops/op_families.h"
#include "ops/window_params.h"
#include "sparrow/error.h"

namespace sparrow::ops {

Activation activation_of(const graph::Attributes& attrs) {
  const std::string name = attrs.get_string(kActivationAttr, "");
  if (name.empty()) return Activation::kNone;
  if (name == "silu") return Activation::kSilu;
  if (name == "relu") return Activation::kRelu;
  if (name == "sigmoid") return Activation::kSigmoid;
  throw Error(ErrorCode::kInternal, "unknown fused activation '" + name + "'");
}

float apply_activation(Activation a, float x) {
  switch (a) {
    case Activation::kNone: return x;
    case Activation::kSilu: return x / (1.0f + std::exp(-x));
    case Activation::kRelu: return x > 0 ? x : 0.0f;
    case Activation::kSigmoid: return 1.0f / (1.0f + std::exp(-x));
  }
  return x;
}

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::kNone: return "";
    case Activation::kSilu: return "SiLU";
    case Activation::kRelu: return "ReLU";
    case Activation::kSigmoid: return "Sigmoid";
  }
  return "";
}

namespace {

std::vector<int64_t> tail(const Shape& s, size_t from) { return {s.begin() + static_cast<long>(from), s.end()}; }

void check_conv_ranks(const InferContext& ctx) {
  if (ctx.rank(0) < 3 || ctx.rank(0) > 5) ctx.unsupported("only 1D, 2D and 3D convolutions are supported");
  if (ctx.rank(1) != ctx.rank(0)) ctx.invalid("weights rank differs from the input's");
  ctx.expect_dtype(0, {DType::kFloat32});
  ctx.expect_dtype(1, {DType::kFloat32});
}

std::vector<TypeShape> infer_conv(const InferContext& ctx) {
  ctx.expect_inputs(2, 4);
  check_conv_ranks(ctx);
  const Shape& x = ctx.shape(0);
  const Shape& w = ctx.shape(1);
  const int64_t group = ctx.attrs().get_int("group", 1);
  if (group < 1 || x[1] % group != 0 || w[0] % group != 0) ctx.invalid("group " + std::to_string(group) + " does not divide the channels");
  if (w[1] * group != x[1]) {
    ctx.invalid("weights " + shape_string(w) + " expect " + std::to_string(w[1] * group) + " input channels, input " +
                shape_string(x) + " has " + std::to_string(x[1]));
  }
  if (ctx.has_input(2) && ctx.shape(2) != Shape{w[0]}) ctx.invalid("bias shape " + shape_string(ctx.shape(2)) + " is not [" + std::to_string(w[0]) + "]");
  WindowParams p = window_params(ctx.attrs(), tail(x, 2), tail(w, 2), false);
  Shape out = {x[0], w[0]};
  out.insert(out.end(), p.out.begin(), p.out.end());
  if (ctx.has_input(3) && ctx.shape(3) != out) ctx.invalid("residual shape differs from the output");
  activation_of(ctx.attrs());
  return {{DType::kFloat32, out}};
}

void eval_conv(const graph::Node& node, const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
  const Shape& xs = in[0].shape;
  const Shape& ws = in[1].shape;
  const WindowParams p = window_params(node.attrs, tail(xs, 2), tail(ws, 2), false);
  const Geometry3 g = padded_to_3d(tail(xs, 2), p);
  const int64_t N = xs[0], C = xs[1], M = ws[0];
  const int64_t group = node.attrs.get_int("group", 1);
  const int64_t Cg = C / group, Mg = M / group;
  const int64_t in_plane = g.in[0] * g.in[1] * g.in[2];
  const int64_t out_plane = g.out[0] * g.out[1] * g.out[2];
  const int64_t kvol = g.k[0] * g.k[1] * g.k[2];
  const float* x = in[0].as<float>();
  const float* w = in[1].as<float>();
  const float* bias = in.size() > 2 && in[2].data ? in[2].as<float>() : nullptr;
  const float* residual = in.size() > 3 && in[3].data ? in[3].as<float>() : nullptr;
  const Activation act = activation_of(node.attrs);
  float* y = out[0].as<float>();

  for (int64_t n = 0; n < N; ++n) {
    for (int64_t m = 0; m < M; ++m) {
      float* plane = y + (n * M + m) * out_plane;
      for (int64_t i = 0; i < out_plane; ++i) plane[i] = bias ? bias[m] : 0.0f;
      const int64_t grp = m / Mg;
      for (int64_t c = 0; c < Cg; ++c) {
        const float* xc = x + (n * C + grp * Cg + c) * in_plane;
        const float* wk = w + (m * Cg + c) * kvol;
        for (int64_t kd = 0; kd < g.k[0]; ++kd)
          for (int64_t kh = 0; kh < g.k[1]; ++kh)
            for (int64_t kw = 0; kw < g.k[2]; ++kw) {
              const float wv = wk[(kd * g.k[1] + kh) * g.k[2] + kw];
              for (int64_t od = 0; od < g.out[0]; ++od) {
                const int64_t id = od * g.stride[0] - g.pad[0] + kd * g.dil[0];
                if (id < 0 || id >= g.in[0]) continue;
                for (int64_t oh = 0; oh < g.out[1]; ++oh) {
                  const int64_t ih = oh * g.stride[1] - g.pad[1] + kh * g.dil[1];
                  if (ih < 0 || ih >= g.in[1]) continue;
                  float* row = plane + (od * g.out[1] + oh) * g.out[2];
                  const float* xrow = xc + (id * g.in[1] + ih) * g.in[2];
                  for (int64_t ow = 0; ow < g.out[2]; ++ow) {
                    const int64_t iw = ow * g.stride[2] - g.pad[2] + kw * g.dil[2];
                    if (iw >= 0 && iw < g.in[2]) row[ow] += wv * xrow[iw];
                  }
                }
              }
            }
      }
      const float* r = residual ? residual + (n * M + m) * out_plane : nullptr;
      for (int64_t i = 0; i < out_plane; ++i) {
        plane[i] = apply_activation(act, plane[i]);
        if (r) plane[i] += r[i];
      }
    }
  }
}

std::vector<TypeShape> infer_conv_transpose(const InferContext& ctx) {
  ctx.expect_inputs(2, 3);
  check_conv_ranks(ctx);
  const Shape& x = ctx.shape(0);
  const Shape& w = ctx.shape(1);
  const int64_t group = ctx.attrs().get_int("group", 1);
  if (group < 1 || x[1] % group != 0) ctx.invalid("group does not divide the input channels");
  if (w[0] != x[1]) ctx.invalid("weights " + shape_string(w) + " do not match the input channels " + std::to_string(x[1]));
  const int64_t M = w[1] * group;
  if (ctx.has_input(2) && ctx.shape(2) != Shape{M}) ctx.invalid("bias shape is not [" + std::to_string(M) + "]");
  WindowParams p = transposed_window_params(ctx.attrs(), tail(x, 2), tail(w, 2));
  Shape out = {x[0], M};
  out.insert(out.end(), p.out.begin(), p.out.end());
  return {{DType::kFloat32, out}};
}

void eval_conv_transpose(const graph::Node& node, const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
  const Shape& xs = in[0].shape;
  const Shape& ws = in[1].shape;
  const WindowParams p = transposed_window_params(node.attrs, tail(xs, 2), tail(ws, 2));
  const Geometry3 g = padded_to_3d(tail(xs, 2), p);
  const int64_t N = xs[0], C = xs[1];
  const int64_t group = node.attrs.get_int("group", 1);
  const int64_t Cg = C / group, Mg = ws[1], M = Mg * group;
  const int64_t in_plane = g.in[0] * g.in[1] * g.in[2];
  const int64_t out_plane = g.out[0] * g.out[1] * g.out[2];
  const int64_t kvol = g.k[0] * g.k[1] * g.k[2];
  const float* x = in[0].as<float>();
  const float* w = in[1].as<float>();
  const float* bias = in.size() > 2 && in[2].data ? in[2].as<float>() : nullptr;
  float* y = out[0].as<float>();
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t m = 0; m < M; ++m) {
      float* plane = y + (n * M + m) * out_plane;
      for (int64_t i = 0; i < out_plane; ++i) plane[i] = bias ? bias[m] : 0.0f;
    }
    for (int64_t c = 0; c < C; ++c) {
      const int64_t grp = c / Cg;
      const float* xc = x + (n * C + c) * in_plane;
      for (int64_t mg = 0; mg < Mg; ++mg) {
        float* plane = y + (n * M + grp * Mg + mg) * out_plane;
        const float* wk = w + (c * Mg + mg) * kvol;
        for (int64_t id = 0; id < g.in[0]; ++id)
          for (int64_t ih = 0; ih < g.in[1]; ++ih)
            for (int64_t iw = 0; iw < g.in[2]; ++iw) {
              const float xv = xc[(id * g.in[1] + ih) * g.in[2] + iw];
              for (int64_t kd = 0; kd < g.k[0]; ++kd) {
                const int64_t od = id * g.stride[0] - g.pad[0] + kd * g.dil[0];
                if (od < 0 || od >= g.out[0]) continue;
                for (int64_t kh = 0; kh < g.k[1]; ++kh) {
                  const int64_t oh = ih * g.stride[1] - g.pad[1] + kh * g.dil[1];
                  if (oh < 0 || oh >= g.out[1]) continue;
                  for (int64_t kw = 0; kw < g.k[2]; ++kw) {
                    const int64_t ow = iw * g.stride[2] - g.pad[2] + kw * g.dil[2];
                    if (ow < 0 || ow >= g.out[2]) continue;
                    plane[(od * g.out[1] + oh) * g.out[2] + ow] += xv * wk[(kd * g.k[1] + kh) * g.k[2] + kw];
                  }
                }
              }
            }
      }
    }
  }
}

}  // namespace

void register_conv_ops(std::vector<OpDef>& ops) {
  ops.push_back({"Conv", infer_conv, eval_conv});
  ops.push_back({"ConvTranspose", infer_conv_transpose, eval_conv_transpose});
}

}  // namespace sparrow::ops
