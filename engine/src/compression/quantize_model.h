// INT8 quantization of a model in memory, for compress(): plan, calibrate, write QDQ.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "compression/activation_range.h"

#include "compression/qdq_writer.h"
#include "sparrow/compression/quantize.h"

namespace sparrow::compression {

// The u8 grids an INT8 model's activations get, calibrated on `model` as it is (float).
struct ActivationGrids {
  std::map<std::string, U8Grid> calibrated;  // the tensors with a grid of their own
  std::map<std::string, U8Grid> every;       // and those that share one (MaxPool, Resize outputs)
  std::vector<ActivationRange> report;
};
ActivationGrids calibrate_activations(const onnx::ModelProto& model, const QuantizeOptions& options);

// Rewrites `model` as QDQ at opset 13 (report.opset set; sizes left to the caller). Throws as
// quantize_int8 does.
// `steps`: weights already rounded to an INT8 grid (GPTQ's), kept as they are. `grids`: the
// activation grids to use, chosen before the model changed; null: calibrate `model` now.
QuantizeReport quantize_model(onnx::ModelProto& model, const QuantizeOptions& options, const WeightSteps& steps = {},
                              const ActivationGrids* grids = nullptr);

}  // namespace sparrow::compression
