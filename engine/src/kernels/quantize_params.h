// What the QuantizeLinear rows check alike: per-tensor parameters known at compile time, and
// whether a quantized tensor feeds only int8 convolutions (which then get it in their NHWC).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "kernels/selection.h"

namespace sparrow::kernels {

struct QuantizeParams {
  float scale = 1;
  int32_t zero_point = 0;
};

// The node's scale (input 1) and zero point (input 2, 0 when absent); nullopt, with why_not,
// when they are computed at run time, per channel, or the tensor is empty.
std::optional<QuantizeParams> per_tensor_quantize_params(const SelectContext& ctx, std::string& why_not);

// A plain 4-D output (a quantized model's input image) that is not a graph output and that only
// QLinearConvs read.
bool feeds_only_int8_convs(const SelectContext& ctx);

}  // namespace sparrow::kernels
