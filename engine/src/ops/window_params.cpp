#include "ops/window_params.h"

#include <algorithm>
#include <string>

#include "sparrow/error.h"

namespace sparrow::ops {
namespace {

[[noreturn]] void invalid(const std::string& why) { throw Error(ErrorCode::kInvalidModel, why); }

std::vector<int64_t> per_dim(const graph::Attributes& attrs, const char* name, size_t n, int64_t fallback) {
  std::vector<int64_t> v = attrs.get_ints(name);
  if (v.empty()) v.assign(n, fallback);
  if (v.size() != n) invalid(std::string(name) + " has " + std::to_string(v.size()) + " values for " +
                             std::to_string(n) + " spatial dims");
  for (int64_t x : v) {
    if (x < (fallback == 0 ? 0 : 1)) invalid(std::string(name) + " has invalid value " + std::to_string(x));
  }
  return v;
}

void common(WindowParams& p, const graph::Attributes& attrs, size_t n, const std::vector<int64_t>& kernel) {
  p.kernel = kernel;
  if (kernel.size() != n) invalid("kernel has " + std::to_string(kernel.size()) + " dims for " + std::to_string(n));
  std::vector<int64_t> shape = attrs.get_ints("kernel_shape");
  if (!shape.empty() && shape != kernel) invalid("kernel_shape does not match the weights");
  for (int64_t k : kernel) {
    if (k < 1) invalid("kernel size " + std::to_string(k) + " is invalid");
  }
  p.strides = per_dim(attrs, "strides", n, 1);
  p.dilations = per_dim(attrs, "dilations", n, 1);
  std::vector<int64_t> pads = attrs.get_ints("pads");
  if (pads.empty()) pads.assign(2 * n, 0);
  if (pads.size() != 2 * n) invalid("pads has " + std::to_string(pads.size()) + " values, expected " + std::to_string(2 * n));
  for (int64_t x : pads) {
    if (x < 0) invalid("negative padding is not allowed");
  }
  p.pads_begin.assign(pads.begin(), pads.begin() + n);
  p.pads_end.assign(pads.begin() + n, pads.end());
}

}  // namespace

WindowParams window_params(const graph::Attributes& attrs, const std::vector<int64_t>& in, const std::vector<int64_t>& kernel,
                           bool ceil_mode) {
  const size_t n = in.size();
  WindowParams p;
  common(p, attrs, n, kernel);
  const std::string auto_pad = attrs.get_string("auto_pad", "NOTSET");
  p.out.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t extent = (p.kernel[i] - 1) * p.dilations[i] + 1;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      p.out[i] = (in[i] + p.strides[i] - 1) / p.strides[i];
      const int64_t total = std::max<int64_t>((p.out[i] - 1) * p.strides[i] + extent - in[i], 0);
      p.pads_begin[i] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      p.pads_end[i] = total - p.pads_begin[i];
      continue;
    }
    if (auto_pad == "VALID") {
      p.pads_begin[i] = p.pads_end[i] = 0;
    } else if (auto_pad != "NOTSET") {
      invalid("auto_pad '" + auto_pad + "' is not a valid value");
    }
    const int64_t span = in[i] + p.pads_begin[i] + p.pads_end[i] - extent;
    if (span < 0) invalid("the window (" + std::to_string(extent) + ") is larger than the padded input (" +
                          std::to_string(in[i] + p.pads_begin[i] + p.pads_end[i]) + ")");
    p.out[i] = (ceil_mode ? (span + p.strides[i] - 1) / p.strides[i] : span / p.strides[i]) + 1;
    // A window must start inside the input or the left padding (as PyTorch and ONNX define ceil_mode).
    if (ceil_mode && (p.out[i] - 1) * p.strides[i] >= in[i] + p.pads_begin[i]) --p.out[i];
  }
  return p;
}

WindowParams transposed_window_params(const graph::Attributes& attrs, const std::vector<int64_t>& in,
                                      const std::vector<int64_t>& kernel) {
  const size_t n = in.size();
  WindowParams p;
  common(p, attrs, n, kernel);
  std::vector<int64_t> output_padding = attrs.get_ints("output_padding");
  if (output_padding.empty()) output_padding.assign(n, 0);
  if (output_padding.size() != n) invalid("output_padding has the wrong length");
  std::vector<int64_t> output_shape = attrs.get_ints("output_shape");
  // Exporters also write the full output shape (N, C, spatial...); its spatial tail is what counts.
  if (output_shape.size() == n + 2) output_shape.erase(output_shape.begin(), output_shape.begin() + 2);
  const std::string auto_pad = attrs.get_string("auto_pad", "NOTSET");
  p.out.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t extent = (p.kernel[i] - 1) * p.dilations[i] + 1;
    const int64_t full = p.strides[i] * (in[i] - 1) + output_padding[i] + extent;
    if (!output_shape.empty() || auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      int64_t target = in[i] * p.strides[i];
      if (!output_shape.empty()) {
        if (output_shape.size() != n) invalid("output_shape must list the spatial dims");
        target = output_shape[i];
        if (target < 1) invalid("output_shape has invalid value " + std::to_string(target));
      }
      // A target beyond the full output (a larger output_shape, or SAME with a stride above the
      // kernel extent) adds rows at the end that only the bias reaches, as output_padding does.
      const int64_t total = std::max<int64_t>(full - target, 0);
      // As the ONNX spec: the odd pixel goes to the end only for SAME_UPPER.
      p.pads_begin[i] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      p.pads_end[i] = total - p.pads_begin[i];
      p.out[i] = target;
      continue;
    }
    if (auto_pad == "VALID") p.pads_begin[i] = p.pads_end[i] = 0;
    p.out[i] = full - p.pads_begin[i] - p.pads_end[i];
    if (p.out[i] <= 0) invalid("padding removes the whole output");
  }
  return p;
}

Geometry3 padded_to_3d(const std::vector<int64_t>& in_spatial, const WindowParams& p) {
  Geometry3 g;
  const size_t off = 3 - in_spatial.size();
  for (size_t i = 0; i < in_spatial.size(); ++i) {
    g.in[off + i] = in_spatial[i];
    g.out[off + i] = p.out[i];
    g.k[off + i] = p.kernel[i];
    g.stride[off + i] = p.strides[i];
    g.dil[off + i] = p.dilations[i];
    g.pad[off + i] = p.pads_begin[i];
  }
  return g;
}

}  // namespace sparrow::ops
