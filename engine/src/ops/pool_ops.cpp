// MaxPool (1D to 3D, dilation, ceil_mode, auto_pad) on float and uint8.
#include <limits>

#include "ops/op_families.h"
#include "ops/window_params.h"

namespace sparrow::ops {
namespace {

WindowParams pool_params(const graph::Attributes& attrs, const Shape& x) {
  const std::vector<int64_t> spatial(x.begin() + 2, x.end());
  return window_params(attrs, spatial, attrs.get_ints("kernel_shape"), attrs.get_int("ceil_mode", 0) != 0);
}

std::vector<TypeShape> infer_maxpool(const InferContext& ctx) {
  ctx.expect_inputs(1, 1);
  ctx.expect_dtype(0, {DType::kFloat32, DType::kUint8});
  if (ctx.rank(0) < 3 || ctx.rank(0) > 5) ctx.unsupported("only 1D, 2D and 3D pooling is supported");
  if (ctx.node().outputs.size() > 1) ctx.unsupported("the Indices output of MaxPool is not supported");
  if (ctx.attrs().get_ints("kernel_shape").size() != static_cast<size_t>(ctx.rank(0) - 2)) {
    ctx.invalid("kernel_shape must have one entry per spatial dim");
  }
  WindowParams p = pool_params(ctx.attrs(), ctx.shape(0));
  Shape out = {ctx.shape(0)[0], ctx.shape(0)[1]};
  out.insert(out.end(), p.out.begin(), p.out.end());
  return {{ctx.dtype(0), out}};
}

template <typename T>
void maxpool(const graph::Node& node, const TensorView& in, const TensorView& out) {
  const WindowParams p = pool_params(node.attrs, in.shape);
  const size_t n = p.out.size();
  int64_t d_in[3] = {1, 1, 1}, d_out[3] = {1, 1, 1}, k[3] = {1, 1, 1}, s[3] = {1, 1, 1}, dl[3] = {1, 1, 1}, pad[3] = {0, 0, 0};
  for (size_t i = 0; i < n; ++i) {
    const size_t j = 3 - n + i;
    d_in[j] = in.shape[2 + i];
    d_out[j] = p.out[i];
    k[j] = p.kernel[i];
    s[j] = p.strides[i];
    dl[j] = p.dilations[i];
    pad[j] = p.pads_begin[i];
  }
  const int64_t planes = in.shape[0] * in.shape[1];
  const int64_t in_plane = d_in[0] * d_in[1] * d_in[2];
  const int64_t out_plane = d_out[0] * d_out[1] * d_out[2];
  const T* x = in.as<T>();
  T* y = out.as<T>();
  for (int64_t pl = 0; pl < planes; ++pl) {
    for (int64_t od = 0; od < d_out[0]; ++od)
      for (int64_t oh = 0; oh < d_out[1]; ++oh)
        for (int64_t ow = 0; ow < d_out[2]; ++ow) {
          T best = std::numeric_limits<T>::lowest();
          for (int64_t kd = 0; kd < k[0]; ++kd) {
            const int64_t id = od * s[0] - pad[0] + kd * dl[0];
            if (id < 0 || id >= d_in[0]) continue;
            for (int64_t kh = 0; kh < k[1]; ++kh) {
              const int64_t ih = oh * s[1] - pad[1] + kh * dl[1];
              if (ih < 0 || ih >= d_in[1]) continue;
              for (int64_t kw = 0; kw < k[2]; ++kw) {
                const int64_t iw = ow * s[2] - pad[2] + kw * dl[2];
                if (iw < 0 || iw >= d_in[2]) continue;
                const T v = x[pl * in_plane + (id * d_in[1] + ih) * d_in[2] + iw];
                if (v > best) best = v;
              }
            }
          }
          y[pl * out_plane + (od * d_out[1] + oh) * d_out[2] + ow] = best;
        }
  }
}

void eval_maxpool(const graph::Node& node, const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
  if (in[0].dtype == DType::kUint8) {
    maxpool<uint8_t>(node, in[0], out[0]);
  } else {
    maxpool<float>(node, in[0], out[0]);
  }
}

}  // namespace

void register_pool_ops(std::vector<OpDef>& ops) { ops.push_back({"MaxPool", infer_maxpool, eval_maxpool}); }

}  // namespace sparrow::ops
