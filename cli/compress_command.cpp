// sparrow compress: writes a compressed copy of a float ONNX model that any ONNX runtime runs.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>

#include "commands.h"
#include "progress_bar.h"
#include "sparrow/compression/quantize.h"
#include "sparrow/error.h"
#include "sparrow/yolo/dataset.h"
#include "sparrow/yolo/default_files.h"
#include "sparrow/yolo/image_files.h"

namespace sparrow::cli {
namespace fs = std::filesystem;
namespace {

struct CompressArgs {
  std::string model;
  std::string output;
  bool int8 = false;
  std::string calibration;  // empty: ../shared/data/coco_train160
  int calibration_images = 64;
  std::string calibration_method = "percentile";
  std::vector<std::string> exclude;
  int num_cores = 0;
  bool verbose = false;
};

// The first `count` images of a folder of images or of a YOLO-layout dataset (data.yaml).
std::vector<std::string> calibration_images(const std::string& dir, int count) {
  if (!fs::is_directory(dir)) throw Error(ErrorCode::kNotFound, "calibration folder '" + dir + "' does not exist");
  std::vector<std::string> files;
  if (fs::exists(fs::path(dir) / "data.yaml")) {
    for (const auto& image : yolo::load_dataset(dir).images) files.push_back(image.path);
  } else {
    files = yolo::image_files({dir});
  }
  if (files.empty()) {
    throw Error(ErrorCode::kInvalidArgument, "calibration folder '" + dir + "' holds no images (.jpg .jpeg .png .bmp .tif .webp)");
  }
  if (files.size() > static_cast<size_t>(count)) files.resize(static_cast<size_t>(count));
  return files;
}

void print_ranges(const compression::QuantizeReport& report) {
  std::fprintf(stderr, "%-60s %10s %10s %10s %10s %10s %4s\n", "tensor", "seen min", "seen max", "min", "max", "scale", "zp");
  for (const auto& a : report.activations) {
    std::fprintf(stderr, "%-60s %10.4f %10.4f %10.4f %10.4f %10.6f %4d\n", a.tensor.c_str(), a.seen_min, a.seen_max, a.min,
                 a.max, a.scale, a.zero_point);
  }
}

void run(const CompressArgs& args) {
  if (!args.int8) throw Error(ErrorCode::kInvalidArgument, "nothing to do: give --int8");
  const std::string model = args.model.empty() ? yolo::default_model_path() : args.model;
  const std::string dir = args.calibration.empty()
                              ? yolo::require_shared_file("data/coco_train160", "calibration folder",
                                                          "pass --calibration DIR (a folder of images)")
                              : args.calibration;
  compression::QuantizeOptions options;
  options.calibration.images = calibration_images(dir, args.calibration_images);
  options.calibration.method = compression::parse_calibration_method(args.calibration_method);
  options.calibration.num_cores = args.num_cores;
  options.calibration_source = fs::path(dir).filename().string();
  options.exclude = args.exclude;
  auto bar = std::make_shared<std::optional<ProgressBar>>();
  options.calibration.progress = [bar](size_t done, size_t total) {
    if (!*bar) bar->emplace("calibrating", total);
    (*bar)->update(done);
  };
  const compression::QuantizeReport report = compression::quantize_int8(model, args.output, options);
  if (*bar) (*bar)->finish();
  if (args.verbose) print_ranges(report);
  std::printf("wrote %s: INT8 QDQ (opset %d), %zu nodes on integers, %zu convolutions kept float; %.1f MiB -> %.1f MiB (%.2fx smaller)\n",
              args.output.c_str(), report.opset, report.int8_nodes.size(), report.float_convs.size(),
              static_cast<double>(report.input_bytes) / (1 << 20), static_cast<double>(report.output_bytes) / (1 << 20),
              report.output_bytes ? static_cast<double>(report.input_bytes) / static_cast<double>(report.output_bytes) : 0.0);
}

}  // namespace

void add_compress_command(CLI::App& app) {
  auto args = std::make_shared<CompressArgs>();
  CLI::App* cmd = app.add_subcommand("compress", "Quantize a float ONNX model to INT8 from calibration images; writes standard QDQ ONNX");
  cmd->add_option("model", args->model, "float ONNX model (default: $SPARROW_MODEL, else ../shared/models/yolov5n.onnx)");
  cmd->add_option("-o,--output", args->output, "ONNX file to write")->required();
  cmd->add_flag("--int8", args->int8, "quantize: s8 weights per output channel, u8 activations per tensor");
  cmd->add_option("--calibration", args->calibration, "folder of calibration images (default: ../shared/data/coco_train160)");
  cmd->add_option("--calibration-images", args->calibration_images, "how many of its images to use (default: 64)")
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--calibration-method", args->calibration_method, "minmax, percentile or mse (default: percentile)")
      ->check(CLI::IsMember({"minmax", "percentile", "mse"}));
  cmd->add_option("--exclude", args->exclude, "names of nodes to keep in float (beyond the Detect head)");
  cmd->add_option("--num-cores", args->num_cores, "threads for calibration (default: every core)")->check(CLI::NonNegativeNumber);
  cmd->add_flag("-v,--verbose", args->verbose, "print each activation's range and grid");
  cmd->callback([args] { run(*args); });
}

}  // namespace sparrow::cli
