// Resize (opset 10 to 13+) and Upsample (7, 9) in nearest mode: what YOLOv5's upsampling uses.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "ops/op_families.h"
#include "ops/resize_params.h"
#include "sparrow/error.h"

namespace sparrow::ops {
namespace {

[[noreturn]] void unsupported(const std::string& why) { throw Error(ErrorCode::kUnsupported, why); }
[[noreturn]] void invalid(const std::string& why) { throw Error(ErrorCode::kInvalidModel, why); }

double original_coordinate(const std::string& mode, int64_t x, double scale, int64_t in, int64_t out) {
  const double xr = static_cast<double>(x);
  if (mode == "half_pixel") return (xr + 0.5) / scale - 0.5;
  if (mode == "pytorch_half_pixel") return out > 1 ? (xr + 0.5) / scale - 0.5 : 0.0;
  if (mode == "align_corners") return out == 1 ? 0.0 : xr * static_cast<double>(in - 1) / static_cast<double>(out - 1);
  if (mode == "asymmetric") return xr / scale;
  if (mode == "tf_half_pixel_for_nn") return (xr + 0.5) / scale;
  unsupported("coordinate_transformation_mode '" + mode + "' is not supported");
}

int64_t round_nearest(const std::string& mode, double v) {
  if (mode == "floor") return static_cast<int64_t>(std::floor(v));
  if (mode == "ceil") return static_cast<int64_t>(std::ceil(v));
  const double f = std::floor(v);
  if (v - f == 0.5) return static_cast<int64_t>(mode == "round_prefer_ceil" ? f + 1 : f);
  if (mode == "round_prefer_floor" || mode == "round_prefer_ceil") return static_cast<int64_t>(std::round(v));
  unsupported("nearest_mode '" + mode + "' is not supported");
}

bool is_upsample(const graph::Node& node) { return node.op == "Upsample"; }

}  // namespace

NearestResize nearest_resize(const graph::Node& node, const Shape& in, const std::vector<float>& scales,
                             const std::vector<int64_t>& sizes) {
  const std::string mode = node.attrs.get_string("mode", "nearest");
  if (mode != "nearest") unsupported("mode '" + mode + "' is not supported (only nearest)");
  // Upsample and Resize-10 have no mode attributes; they behave as asymmetric + floor.
  const bool legacy = is_upsample(node) || node.opset < 11;
  const std::string coord = legacy ? "asymmetric" : node.attrs.get_string("coordinate_transformation_mode", "half_pixel");
  const std::string rounding = legacy ? "floor" : node.attrs.get_string("nearest_mode", "round_prefer_floor");
  if (coord == "tf_crop_and_resize") unsupported("coordinate_transformation_mode 'tf_crop_and_resize' is not supported");

  const size_t rank = in.size();
  if (!sizes.empty() && sizes.size() != rank) invalid("sizes has " + std::to_string(sizes.size()) + " entries for rank " + std::to_string(rank));
  if (sizes.empty() && scales.size() != rank) invalid("scales has " + std::to_string(scales.size()) + " entries for rank " + std::to_string(rank));
  NearestResize r;
  for (size_t d = 0; d < rank; ++d) {
    double scale;
    int64_t out;
    if (!sizes.empty()) {
      out = sizes[d];
      if (out <= 0) invalid("sizes must be positive");
      scale = static_cast<double>(out) / static_cast<double>(in[d]);
    } else {
      scale = scales[d];
      if (!(scale > 0) || !std::isfinite(scale)) invalid("scales must be positive and finite");
      out = static_cast<int64_t>(std::floor(static_cast<double>(in[d]) * scale));
      if (out <= 0) invalid("scale " + std::to_string(scale) + " leaves dim " + std::to_string(d) + " empty");
    }
    if (out > (int64_t{1} << 31)) invalid("resized dim " + std::to_string(out) + " is absurd");
    r.out.push_back(out);
    std::vector<int64_t> src(static_cast<size_t>(out));
    for (int64_t o = 0; o < out; ++o) {
      const int64_t i = round_nearest(rounding, original_coordinate(coord, o, scale, in[d], out));
      src[o] = std::clamp<int64_t>(i, 0, in[d] - 1);
    }
    r.source.push_back(std::move(src));
  }
  return r;
}

namespace {

// Index of the scales / sizes inputs for each op version; -1 when absent.
struct ResizeInputs {
  int scales = -1, sizes = -1;
};

ResizeInputs resize_inputs(const graph::Node& node) {
  if (is_upsample(node)) return {node.opset >= 9 ? 1 : -1, -1};
  if (node.opset < 11) return {1, -1};
  return {2, 3};
}

std::vector<TypeShape> infer_resize(const InferContext& ctx) {
  ctx.expect_inputs(1, 4);
  const ResizeInputs idx = resize_inputs(ctx.node());
  std::vector<float> scales;
  std::vector<int64_t> sizes;
  if (is_upsample(ctx.node()) && idx.scales < 0) {
    scales = ctx.attrs().get_floats("scales");
  } else if (idx.scales >= 0 && ctx.has_input(idx.scales) && num_elements(ctx.shape(idx.scales)) > 0) {
    const Tensor* t = ctx.constant(idx.scales);
    if (!t) ctx.unsupported("scales are computed at run time; Sparrow needs them at compile time");
    if (t->dtype() != DType::kFloat32) ctx.invalid("scales must be float");
    scales.assign(t->data_as<float>(), t->data_as<float>() + t->size());
  }
  if (idx.sizes >= 0 && ctx.has_input(idx.sizes)) sizes = ctx.constant_ints(idx.sizes, "sizes");
  if (!scales.empty() && !sizes.empty()) ctx.invalid("only one of scales and sizes may be given");
  return {{ctx.dtype(0), nearest_resize(ctx.node(), ctx.shape(0), scales, sizes).out}};
}

void eval_resize(const graph::Node& node, const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
  const ResizeInputs idx = resize_inputs(node);
  std::vector<float> scales;
  std::vector<int64_t> sizes;
  if (is_upsample(node) && idx.scales < 0) scales = node.attrs.get_floats("scales");
  if (idx.scales >= 0 && idx.scales < static_cast<int>(in.size()) && in[idx.scales].data) {
    scales.assign(in[idx.scales].as<float>(), in[idx.scales].as<float>() + in[idx.scales].size());
  }
  if (idx.sizes >= 0 && idx.sizes < static_cast<int>(in.size()) && in[idx.sizes].data) {
    sizes.assign(in[idx.sizes].as<int64_t>(), in[idx.sizes].as<int64_t>() + in[idx.sizes].size());
  }
  const NearestResize r = nearest_resize(node, in[0].shape, scales, sizes);
  const int64_t rank = static_cast<int64_t>(r.out.size());
  const size_t width = dtype_size(in[0].dtype);
  std::vector<int64_t> in_strides(rank, 1);
  for (int64_t d = rank - 2; d >= 0; --d) in_strides[d] = in_strides[d + 1] * in[0].shape[d + 1];
  std::vector<int64_t> index(rank, 0);
  for (int64_t i = 0; i < out[0].size(); ++i) {
    int64_t src = 0;
    for (int64_t d = 0; d < rank; ++d) src += r.source[d][index[d]] * in_strides[d];
    std::memcpy(static_cast<std::byte*>(out[0].data) + i * width, static_cast<const std::byte*>(in[0].data) + src * width, width);
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++index[d] < r.out[d]) break;
      index[d] = 0;
    }
  }
}

}  // namespace

void register_resize_ops(std::vector<OpDef>& ops) {
  ops.push_back({"Resize", infer_resize, eval_resize});
  ops.push_back({"Upsample", infer_resize, eval_resize});
}

}  // namespace sparrow::ops
