// INT8 quantization of a model in memory, for compress(): plan, calibrate, write QDQ.
#pragma once

#include <onnx/onnx_pb.h>

#include "compression/qdq_writer.h"
#include "sparrow/compression/quantize.h"

namespace sparrow::compression {

// Rewrites `model` as QDQ at opset 13 (report.opset set; sizes left to the caller). Throws as
// quantize_int8 does.
// `steps`: weights already rounded to an INT8 grid (GPTQ's), kept as they are.
QuantizeReport quantize_model(onnx::ModelProto& model, const QuantizeOptions& options, const WeightSteps& steps = {});

}  // namespace sparrow::compression
