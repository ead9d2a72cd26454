// What the float and the int8 oneDNN convolutions share: oneDNN's view of ONNX weights and
// window attributes, and a fused activation as a post-op.
#pragma once

#include <cstdint>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "ops/fused_attrs.h"
#include "sparrow/tensor.h"

namespace sparrow::kernels {

// Each value minus `minus` (oneDNN counts dilation from 0, ONNX from 1).
dnnl::memory::dims dims_minus(const std::vector<int64_t>& v, int64_t minus = 0);
// Weights dims as oneDNN wants them: {O, I, k...}, or {G, O/G, I/G, k...} for groups.
dnnl::memory::dims weight_dims(const Shape& w, int64_t group, bool transposed);
// Appends the activation as an eltwise post-op whose result is multiplied by `scale`.
void append_activation(dnnl::post_ops& post_ops, ops::Activation a, float scale = 1.0f);

}  // namespace sparrow::kernels
