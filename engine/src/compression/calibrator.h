// Calibration: runs the float model on the calibration images through the engine, as a user
// would, with the tensors to quantize added as outputs, and records what each holds.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "compression/activation_range.h"

namespace sparrow::compression {

struct TensorStats {
  float min = 0, max = 0;                // over every image
  std::unique_ptr<Histogram> histogram;  // over [min, max], when the method needs one
};

// Stats of each of `tensors` (graph inputs included). One pass for minmax; a second builds the
// histograms over the first pass's ranges. sparrow::Error when an image cannot be decoded or the
// model has not exactly one float NCHW input.
std::map<std::string, TensorStats> calibrate(const onnx::ModelProto& model, const std::vector<std::string>& tensors,
                                             const CalibrationOptions& options);

}  // namespace sparrow::compression
