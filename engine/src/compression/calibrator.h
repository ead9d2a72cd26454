// Calibration: runs the float model on the calibration images through the engine, as a user
// would, with the tensors to quantize added as outputs, and records what each holds.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "compression/activation_range.h"
#include "sparrow/engine.h"

namespace sparrow::compression {

// `model` with each of `tensors` as an extra output, compiled at batch 1.
Engine observing_engine(const onnx::ModelProto& model, const std::vector<std::string>& tensors, int num_cores);
// The engine's one input, float Nx3xHxW; sparrow::Error (kUnsupported) otherwise.
const TensorSpec& image_input(const Engine& engine);
// The image file decoded and letterboxed into `spec`'s shape as detect does; sparrow::Error when
// it cannot be decoded.
Tensor letterboxed_image(const std::string& path, const TensorSpec& spec);

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
