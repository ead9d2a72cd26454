// INT8 quantization of a model in memory, for compress(): plan, calibrate, write QDQ.
#pragma once

#include <onnx/onnx_pb.h>

#include "sparrow/compression/quantize.h"

namespace sparrow::compression {

// Rewrites `model` as QDQ at opset 13 (report.opset set; sizes left to the caller). Throws as
// quantize_int8 does.
QuantizeReport quantize_model(onnx::ModelProto& model, const QuantizeOptions& options);

}  // namespace sparrow::compression
