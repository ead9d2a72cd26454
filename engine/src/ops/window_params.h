// Sliding-window geometry shared by Conv, ConvInteger, ConvTranspose and MaxPool: resolves
// ONNX's kernel, stride, dilation, pads and auto_pad attributes against the spatial input shape.
#pragma once

#include <cstdint>
#include <vector>

#include "graph/attributes.h"

namespace sparrow::ops {

struct WindowParams {
  std::vector<int64_t> kernel, strides, dilations, pads_begin, pads_end;
  std::vector<int64_t> out;  // output spatial dims
};

// For Conv and MaxPool. `kernel` comes from the weights (Conv) or kernel_shape (MaxPool);
// ceil_mode rounds output sizes up (MaxPool only).
WindowParams window_params(const graph::Attributes& attrs, const std::vector<int64_t>& in_spatial,
                           const std::vector<int64_t>& kernel, bool ceil_mode);

// For ConvTranspose: also honours output_padding and output_shape.
WindowParams transposed_window_params(const graph::Attributes& attrs, const std::vector<int64_t>& in_spatial,
                                      const std::vector<int64_t>& kernel);

// Spatial dims padded to three (D, H, W), so that one loop nest serves 1D, 2D and 3D windows.
struct Geometry3 {
  int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, k[3] = {1, 1, 1};
  int64_t stride[3] = {1, 1, 1}, dil[3] = {1, 1, 1}, pad[3] = {0, 0, 0};
};

Geometry3 padded_to_3d(const std::vector<int64_t>& in_spatial, const WindowParams& p);

}  // namespace sparrow::ops
