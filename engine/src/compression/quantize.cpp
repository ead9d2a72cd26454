// INT8 quantization: plan on the graph, calibrate through the engine, write QDQ.
#include "sparrow/compression/quantize.h"

#include "compression/broadcast_constants.h"
#include "compression/calibrator.h"
#include "compression/model_file.h"
#include "compression/qdq_writer.h"
#include "compression/quantization_plan.h"
#include "compression/quantize_model.h"
#include "sparrow/compression/compress.h"
#include "sparrow/error.h"

namespace sparrow::compression {
namespace {

constexpr int kQdqOpset = 13;  // the first with per-channel QuantizeLinear/DequantizeLinear

std::map<std::string, U8Grid> choose_grids(const QuantizationPlan& plan, const std::map<std::string, TensorStats>& stats,
                                           CalibrationMethod method, QuantizeReport& report) {
  std::map<std::string, U8Grid> grids;
  for (const std::string& tensor : plan.calibrated) {
    const auto it = stats.find(tensor);
    if (it == stats.end()) throw Error(ErrorCode::kInternal, "calibration did not observe '" + tensor + "'");
    const TensorStats& s = it->second;
    const U8Grid grid = choose_grid(method, s.min, s.max, s.histogram.get());
    grids[tensor] = grid;
    report.activations.push_back({tensor, s.min, s.max, grid.min, grid.max, grid.scale, grid.zero_point});
  }
  return grids;
}

}  // namespace

CalibrationMethod parse_calibration_method(const std::string& name) {
  if (name == "minmax") return CalibrationMethod::kMinMax;
  if (name == "percentile") return CalibrationMethod::kPercentile;
  if (name == "mse") return CalibrationMethod::kMse;
  throw Error(ErrorCode::kInvalidArgument, "unknown calibration method '" + name + "' (minmax, percentile or mse)");
}

const char* calibration_method_name(CalibrationMethod method) {
  switch (method) {
    case CalibrationMethod::kMinMax: return "minmax";
    case CalibrationMethod::kPercentile: return "percentile";
    case CalibrationMethod::kMse: return "mse";
  }
  return "?";
}

QuantizeReport quantize_model(onnx::ModelProto& model, const QuantizeOptions& options, const WeightSteps& steps) {
  plan_quantization(model.graph(), options.exclude);  // refuses quantized models before converting
  if (options.calibration.images.empty()) throw Error(ErrorCode::kInvalidArgument, "no calibration images");
  upgrade_opset(model, kQdqOpset);
  const QuantizationPlan plan = plan_quantization(model.graph(), options.exclude);
  QuantizeReport report;
  report.int8_nodes = plan.int8_nodes;
  report.float_convs = plan.float_convs;
  const auto stats = calibrate(model, plan.calibrated, options.calibration);
  write_qdq(*model.mutable_graph(), plan, choose_grids(plan, stats, options.calibration.method, report), steps);
  factor_broadcast_constants(*model.mutable_graph());
  report.opset = default_opset(model);
  return report;
}

QuantizeReport quantize_int8(const std::string& model_path, const std::string& output_path, const QuantizeOptions& options) {
  CompressOptions compress_options;
  compress_options.int8 = options;
  const CompressReport done = compress(model_path, output_path, compress_options);
  QuantizeReport report = *done.int8;
  report.input_bytes = done.input_bytes;
  report.output_bytes = done.output_bytes;
  return report;
}

}  // namespace sparrow::compression
