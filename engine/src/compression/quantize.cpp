// sparrow::compression::quantize_int8: plan on the graph, calibrate through the engine, write QDQ.
#include "sparrow/compression/quantize.h"

#include <filesystem>
#include <sstream>

#include <onnx/checker.h>

#include "compression/broadcast_constants.h"
#include "compression/calibrator.h"
#include "compression/model_file.h"
#include "compression/qdq_writer.h"
#include "compression/quantization_plan.h"
#include "onnx/onnx_importer.h"
#include "sparrow/error.h"

#ifndef SPARROW_VERSION
#define SPARROW_VERSION "unknown"
#endif

namespace sparrow::compression {
namespace {

constexpr int kQdqOpset = 13;  // the first with per-channel QuantizeLinear/DequantizeLinear

void set_metadata(onnx::ModelProto& model, const std::string& key, const std::string& value) {
  for (auto& entry : *model.mutable_metadata_props()) {
    if (entry.key() == key) {
      entry.set_value(value);
      return;
    }
  }
  auto* entry = model.add_metadata_props();
  entry->set_key(key);
  entry->set_value(value);
}

void record_what_was_done(onnx::ModelProto& model, const QuantizeOptions& options, const QuantizationPlan& plan) {
  const CalibrationOptions& c = options.calibration;
  std::ostringstream text;
  text << "{\"tool\": \"sparrow " << SPARROW_VERSION << "\", \"quantization\": \"int8 static QDQ\""
       << ", \"weights\": \"s8 symmetric per output channel\", \"activations\": \"u8 per tensor\""
       << ", \"calibration_method\": \"" << calibration_method_name(c.method) << "\""
       << ", \"calibration_images\": " << c.images.size() << ", \"calibration_source\": \"" << options.calibration_source
       << "\", \"int8_nodes\": " << plan.int8_nodes.size() << ", \"float_convs\": " << plan.float_convs.size() << "}";
  set_metadata(model, "sparrow.compression", text.str());
}

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

size_t file_size(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<size_t>(size);
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

QuantizeReport quantize_int8(const std::string& model_path, const std::string& output_path, const QuantizeOptions& options) {
  onnx::ModelProto model = onnx_import::read_model_file(model_path);
  plan_quantization(model.graph(), options.exclude);  // refuses quantized models before converting
  if (options.calibration.images.empty()) throw Error(ErrorCode::kInvalidArgument, "no calibration images");
  upgrade_opset(model, kQdqOpset);
  const QuantizationPlan plan = plan_quantization(model.graph(), options.exclude);
  QuantizeReport report;
  report.int8_nodes = plan.int8_nodes;
  report.float_convs = plan.float_convs;
  const auto stats = calibrate(model, plan.calibrated, options.calibration);
  write_qdq(*model.mutable_graph(), plan, choose_grids(plan, stats, options.calibration.method, report));
  factor_broadcast_constants(*model.mutable_graph());
  record_what_was_done(model, options, plan);
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    throw Error(ErrorCode::kInternal, std::string("the quantized model fails ONNX's checker: ") + e.what());
  }
  write_model(model, output_path);
  report.opset = default_opset(model);
  report.input_bytes = file_size(model_path);
  report.output_bytes = file_size(output_path);
  return report;
}

}  // namespace sparrow::compression
