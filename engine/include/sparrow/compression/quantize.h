// Post-training static INT8 quantization: calibrate a float ONNX model on a few images and write
// it back as standard QDQ ONNX (QuantizeLinear/DequantizeLinear pairs) that Sparrow runs on its
// INT8 kernels and other runtimes (ONNX Runtime) run too. docs/compression.md has the recipe.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace sparrow::compression {

// How an activation's range is chosen from what calibration saw.
enum class CalibrationMethod {
  kMinMax,      // the extremes seen
  kPercentile,  // the central 99.999 % of the values seen (outliers clipped)
  kMse,         // the clipping that minimises the mean squared quantization error
};

// "minmax", "percentile", "mse"; sparrow::Error (kInvalidArgument) for anything else.
CalibrationMethod parse_calibration_method(const std::string& name);
const char* calibration_method_name(CalibrationMethod method);

struct CalibrationOptions {
  std::vector<std::string> images;  // image files, letterboxed to the model's input as detect does
  CalibrationMethod method = CalibrationMethod::kPercentile;
  int num_cores = 0;                // threads of the calibration runs; 0 means every core
  // Called after each calibration run with (runs done, runs in all).
  std::function<void(size_t, size_t)> progress;
};

struct QuantizeOptions {
  CalibrationOptions calibration;
  std::vector<std::string> exclude;  // names of nodes to keep in float, beyond the defaults
  std::string calibration_source;    // how the metadata names the images, e.g. "coco_train160"
};

// One quantized activation: what calibration saw and the grid chosen for it.
struct ActivationRange {
  std::string tensor;
  float seen_min = 0, seen_max = 0;  // over every calibration image
  float min = 0, max = 0;            // the range the grid covers
  float scale = 0;
  int zero_point = 0;                // u8
};

struct QuantizeReport {
  int opset = 0;                            // of the file written (per-channel Q/DQ needs 13)
  std::vector<std::string> int8_nodes;      // nodes that run on integers
  std::vector<std::string> float_convs;     // convolutions with float activations (head, --exclude)
  size_t s8_weight_float_convs = 0;         // of those, how many run on s8 weights (the head's)
  std::vector<ActivationRange> activations;
  size_t input_bytes = 0, output_bytes = 0; // file sizes
};

// Quantizes `model_path` (a float ONNX model) into `output_path`. Weights become symmetric s8
// per output channel, activations u8 per tensor with a zero point. The convolutions whose
// outputs reach the model's outputs without another convolution between (YOLOv5's Detect head)
// and the decode math after them stay float. Throws sparrow::Error naming what failed: an
// unreadable or already quantized model, no calibration images, an unknown node to exclude.
QuantizeReport quantize_int8(const std::string& model_path, const std::string& output_path,
                             const QuantizeOptions& options);

}  // namespace sparrow::compression
