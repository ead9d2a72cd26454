// sparrow::compression::compress: prune, then quantize, then record, check and write.
#include "sparrow/compression/compress.h"

#include <filesystem>
#include <optional>

#include <onnx/checker.h>

#include "compression/compression_metadata.h"
#include "compression/model_file.h"
#include "compression/pruner.h"
#include "compression/quantize_model.h"
#include "onnx/onnx_importer.h"
#include "sparrow/error.h"
#include "sparrow/output_file.h"

namespace sparrow::compression {
namespace {

size_t file_size(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<size_t>(size);
}

}  // namespace

CompressReport compress(const std::string& model_path, const std::string& output_path, const CompressOptions& options) {
  if (!options.prune && !options.int8) {
    throw Error(ErrorCode::kInvalidArgument, "nothing to do: give --sparsity S, --int8 or both");
  }
  onnx::ModelProto model = onnx_import::read_model_file(model_path);
  check_writable(output_path);
  CompressReport report;
  // Pruning first, so that symmetric s8 weights keep every zero exactly zero. Calibration then
  // sees the pruned model's activations, except with --method obs: that calibrates the dense
  // model first, and fits each layer to the dense output from inputs on those very grids.
  std::optional<ActivationGrids> grids;
  if (options.prune && options.int8 && options.prune->method == PruneMethod::kObs) {
    grids = calibrate_activations(model, *options.int8);
  }
  if (options.prune) report.prune = prune_model(model, *options.prune, grids ? &*grids : nullptr);
  if (options.int8) {
    report.int8 = quantize_model(model, *options.int8, report.prune ? report.prune->int8_steps : WeightSteps{},
                                 grids ? &*grids : nullptr);
  }
  record_compression(model, options, report);
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    throw Error(ErrorCode::kInternal, std::string("the compressed model fails ONNX's checker: ") + e.what());
  }
  write_model(model, output_path);
  report.opset = default_opset(model);
  report.input_bytes = file_size(model_path);
  report.output_bytes = file_size(output_path);
  return report;
}

}  // namespace sparrow::compression
