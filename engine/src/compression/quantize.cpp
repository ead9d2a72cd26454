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

// Checks the options and converts `model` to the QDQ opset; the plan of the converted graph.
QuantizationPlan prepare(onnx::ModelProto& model, const QuantizeOptions& options) {
  plan_quantization(model.graph(), options.exclude);  // refuses quantized models before converting
  if (options.calibration.images.empty()) throw Error(ErrorCode::kInvalidArgument, "no calibration images");
  upgrade_opset(model, kQdqOpset);
  return plan_quantization(model.graph(), options.exclude);
}

ActivationGrids choose_grids(const QuantizationPlan& plan, const std::map<std::string, TensorStats>& stats,
                             CalibrationMethod method) {
  ActivationGrids grids;
  for (const std::string& tensor : plan.calibrated) {
    const auto it = stats.find(tensor);
    if (it == stats.end()) throw Error(ErrorCode::kInternal, "calibration did not observe '" + tensor + "'");
    const TensorStats& s = it->second;
    const U8Grid grid = choose_grid(method, s.min, s.max, s.histogram.get());
    grids.calibrated[tensor] = grid;
    grids.report.push_back({tensor, s.min, s.max, grid.min, grid.max, grid.scale, grid.zero_point});
  }
  grids.every = grids.calibrated;
  for (const auto& [tensor, owner] : plan.shares_grid_of) {
    const auto it = grids.calibrated.find(owner);
    if (it != grids.calibrated.end()) grids.every[tensor] = it->second;
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

ActivationGrids calibrate_activations(const onnx::ModelProto& model, const QuantizeOptions& options) {
  onnx::ModelProto converted = model;
  const QuantizationPlan plan = prepare(converted, options);
  return choose_grids(plan, calibrate(converted, plan.calibrated, options.calibration), options.calibration.method);
}

QuantizeReport quantize_model(onnx::ModelProto& model, const QuantizeOptions& options, const WeightSteps& steps,
                              const ActivationGrids* grids) {
  const QuantizationPlan plan = prepare(model, options);
  QuantizeReport report;
  report.int8_nodes = plan.int8_nodes;
  report.float_convs = plan.float_convs;
  report.s8_weight_float_convs = plan.weight_only_convs.size();
  const ActivationGrids chosen =
      grids ? *grids : choose_grids(plan, calibrate(model, plan.calibrated, options.calibration), options.calibration.method);
  report.activations = chosen.report;
  write_qdq(*model.mutable_graph(), plan, chosen.calibrated, steps);
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
