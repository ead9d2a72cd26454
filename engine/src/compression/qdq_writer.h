// Rewrites a float graph as QDQ ONNX: each quantized activation gets a QuantizeLinear and a
// DequantizeLinear right after its producer, read by all its consumers; each INT8 convolution's
// weights become s8 per output channel and its bias s32 on the accumulator's grid
// (input scale x weight scale), each behind a DequantizeLinear. Needs opset 13 (per-channel).
#pragma once

#include <map>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "compression/activation_range.h"
#include "compression/quantization_plan.h"

namespace sparrow::compression {

// Per weight initializer, per-output-channel steps its values already lie on (GPTQ's); the
// writer keeps them instead of choosing max |w| / 127.
using WeightSteps = std::map<std::string, std::vector<float>>;

// `grids` holds a grid for every tensor in plan.calibrated.
void write_qdq(onnx::GraphProto& graph, const QuantizationPlan& plan, const std::map<std::string, U8Grid>& grids,
               const WeightSteps& steps = {});

}  // namespace sparrow::compression
