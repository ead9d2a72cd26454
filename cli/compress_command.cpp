// sparrow compress: writes a compressed copy of a float ONNX model that any ONNX runtime runs.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <opencv2/core.hpp>

#include "commands.h"
#include "progress_bar.h"
#include "sparrow/compression/compress.h"
#include "sparrow/error.h"
#include "sparrow/yolo/dataset.h"
#include "sparrow/yolo/default_files.h"
#include "sparrow/yolo/image_decoder.h"
#include "sparrow/yolo/image_files.h"

namespace sparrow::cli {
namespace fs = std::filesystem;
namespace {

struct CompressArgs {
  std::string model;
  std::string output;
  double sparsity = 0;
  int block = 1;
  std::string method = "magnitude";
  std::string allocation;  // empty: sensitivity with --method obs, else uniform
  bool int8 = false;
  std::string calibration;  // empty: ../shared/data/coco_train160
  int calibration_images = 64;
  std::string calibration_method = "percentile";
  std::vector<std::string> exclude;
  uint64_t seed = 0;
  int num_cores = 0;
  bool verbose = false;
  // Set when registering: whether a flag was given.
  CLI::Option *sparsity_flag = nullptr, *block_flag = nullptr, *method_flag = nullptr, *seed_flag = nullptr,
              *allocation_flag = nullptr;
  std::vector<CLI::Option*> image_flags;  // calibration flags that --method obs and lowrank use too
  std::vector<CLI::Option*> calibration_flags;
};

// Fewer decodable images than this (or than --calibration-images, if smaller) after skipping
// undecodable ones stops compress: ranges or Hessians from a handful of images mislead.
constexpr size_t kMinCalibrationImages = 8;

// The first `count` images of a folder of images or of a YOLO-layout dataset (data.yaml) that
// decode. One that does not is skipped with a warning naming it and why.
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
  std::vector<std::string> usable;
  size_t skipped = 0;
  for (size_t i = 0; i < files.size() && usable.size() < static_cast<size_t>(count); ++i) {
    try {
      yolo::decode_image_file(files[i]);
      usable.push_back(files[i]);
    } catch (const Error& e) {
      std::fprintf(stderr, "warning: skipping calibration image: %s\n", e.what());
      ++skipped;
    }
  }
  const size_t needed = std::min(kMinCalibrationImages, static_cast<size_t>(count));
  if (usable.empty() || (skipped > 0 && usable.size() < needed)) {
    throw Error(ErrorCode::kInvalidArgument, "only " + std::to_string(usable.size()) + " image(s) in calibration folder '" +
                                                 dir + "' decode (" + std::to_string(skipped) + " skipped); at least " +
                                                 std::to_string(needed) + " are needed");
  }
  return usable;
}

// Flags that tune a step not asked for would silently do nothing: they are errors instead.
void check_flag_combinations(const CompressArgs& args) {
  const bool prune = args.sparsity_flag->count() > 0;
  if (!prune && !args.int8) throw Error(ErrorCode::kInvalidArgument, "nothing to do: give --sparsity S, --int8 or both");
  for (const CLI::Option* flag : {args.block_flag, args.method_flag, args.allocation_flag}) {
    if (!prune && flag->count()) throw Error(ErrorCode::kInvalidArgument, flag->get_name() + " needs --sparsity");
  }
  if (args.method == "lowrank" && args.block_flag->count()) {
    throw Error(ErrorCode::kInvalidArgument, "--block is for pruning (magnitude, obs), not --method lowrank");
  }
  const bool calibrated = prune && (args.method == "obs" || args.method == "lowrank");
  if (!calibrated && args.seed_flag->count()) throw Error(ErrorCode::kInvalidArgument, "--seed needs --method obs or lowrank");
  for (const CLI::Option* flag : args.calibration_flags) {
    const bool images = std::find(args.image_flags.begin(), args.image_flags.end(), flag) != args.image_flags.end();
    if (!args.int8 && !(calibrated && images) && flag->count()) {
      throw Error(ErrorCode::kInvalidArgument,
                  flag->get_name() + (images ? " needs --int8, --method obs or --method lowrank: magnitude pruning uses no images"
                                             : " needs --int8"));
    }
  }
}

std::string calibration_dir(const CompressArgs& args) {
  return args.calibration.empty() ? yolo::require_shared_file("data/coco_train160", "calibration folder",
                                                              "pass --calibration DIR (a folder of images)")
                                  : args.calibration;
}

compression::PruneOptions prune_options(const CompressArgs& args, std::shared_ptr<std::optional<ProgressBar>> bar) {
  compression::PruneOptions options;
  options.sparsity = args.sparsity;
  options.block = args.block;
  options.method = compression::parse_prune_method(args.method);
  const bool obs = options.method == compression::PruneMethod::kObs;
  options.allocation = compression::parse_sparsity_allocation(args.allocation.empty() ? (obs ? "sensitivity" : "uniform")
                                                                                      : args.allocation);
  options.exclude = args.exclude;
  if (options.method == compression::PruneMethod::kMagnitude) return options;
  const std::string dir = calibration_dir(args);
  options.calibration_images = calibration_images(dir, args.calibration_images);
  options.calibration_source = fs::path(dir).filename().string();
  options.seed = args.seed;
  options.num_cores = args.num_cores;
  const char* label = options.method == compression::PruneMethod::kLowRank ? "factoring" : "pruning";
  options.progress = [bar, label](size_t done, size_t total) {
    if (!*bar) bar->emplace(label, total, "layers");
    (*bar)->update(done);
    if (done == total) (*bar)->finish();
  };
  return options;
}

compression::QuantizeOptions int8_options(const CompressArgs& args, std::shared_ptr<std::optional<ProgressBar>> bar) {
  const std::string dir = calibration_dir(args);
  compression::QuantizeOptions options;
  options.calibration.images = calibration_images(dir, args.calibration_images);
  options.calibration.method = compression::parse_calibration_method(args.calibration_method);
  options.calibration.num_cores = args.num_cores;
  options.calibration_source = fs::path(dir).filename().string();
  options.exclude = args.exclude;
  options.calibration.progress = [bar](size_t done, size_t total) {
    if (!*bar) bar->emplace("calibrating", total);
    (*bar)->update(done);
  };
  return options;
}

// With --method obs, each layer's relative output error ||ΔW·X||² / ||W·X||² on its calibration
// inputs, next to magnitude pruning's at the same sparsity (with lowrank, next to the data-free
// SVD's at the same rank); with sensitivity allocation, the head's error with the layer alone
// pruned at the target, which set its share.
std::string output_errors(const compression::LayerSparsity& l) {
  if (l.output_error < 0) return "";
  char text[128];
  const int n = l.rank > 0 ? std::snprintf(text, sizeof text, "  error %.4f (weight SVD %.4f)", l.output_error, l.weight_svd_output_error)
                           : std::snprintf(text, sizeof text, "  error %.4f (magnitude %.4f)", l.output_error, l.magnitude_output_error);
  if (l.model_error >= 0) std::snprintf(text + n, sizeof text - static_cast<size_t>(n), "  sensitivity %.5f", l.model_error);
  return text;
}

std::string layer_status(const compression::LayerSparsity& l) {
  if (!l.pruned) return "dense: " + l.kept_dense_because;
  if (l.rank > 0) return "factored, rank " + std::to_string(l.rank);
  return l.pattern_by.empty() ? "pruned" : "pruned (" + l.pattern_by + ")";
}

void print_layers(const compression::PruneReport& report) {
  std::fprintf(stderr, "%-44s %-18s %9s  %s\n", "conv", "weights", "sparsity", "");
  for (const auto& l : report.layers) {
    std::string shape;
    for (size_t d = 0; d < l.shape.size(); ++d) {
      if (d) shape += 'x';
      shape += std::to_string(l.shape[d]);
    }
    std::fprintf(stderr, "%-44s %-18s %8.2f%%  %s%s\n", l.node.c_str(), shape.c_str(), 100 * l.sparsity(),
                 layer_status(l).c_str(), output_errors(l).c_str());
  }
}

void print_ranges(const compression::QuantizeReport& report) {
  std::fprintf(stderr, "%-60s %10s %10s %10s %10s %10s %4s\n", "tensor", "seen min", "seen max", "min", "max", "scale", "zp");
  for (const auto& a : report.activations) {
    std::fprintf(stderr, "%-60s %10.4f %10.4f %10.4f %10.4f %10.6f %4d\n", a.tensor.c_str(), a.seen_min, a.seen_max, a.min,
                 a.max, a.scale, a.zero_point);
  }
}

compression::SparsityAllocation options_allocation(const CompressArgs& args) {
  if (!args.allocation.empty()) return compression::parse_sparsity_allocation(args.allocation);
  return args.method == "obs" ? compression::SparsityAllocation::kSensitivity : compression::SparsityAllocation::kUniform;
}

void print_summary(const CompressArgs& args, const compression::CompressReport& report) {
  std::printf("wrote %s:", args.output.c_str());
  if (report.prune && args.method == "lowrank") {
    std::printf(" %d 1x1 convolutions factored (lowrank), %.1f %% of their weights removed, %zu kept as they are;",
                report.prune->pruned_convs(), 100 * report.prune->achieved_sparsity(),
                report.prune->layers.size() - static_cast<size_t>(report.prune->pruned_convs()));
  } else if (report.prune) {
    std::printf(" %d convolutions pruned to %.1f %% (%s, %s, %s), %zu kept dense;", report.prune->pruned_convs(),
                100 * report.prune->achieved_sparsity(), args.method.c_str(),
                compression::sparsity_allocation_name(options_allocation(args)),
                args.block == 1 ? "unstructured" : "blocks of 4 input channels",
                report.prune->layers.size() - static_cast<size_t>(report.prune->pruned_convs()));
  }
  if (report.int8) {
    std::printf(" INT8 QDQ (opset %d), %zu nodes on integers, %zu convolutions on float activations (%zu of them on s8 weights);",
                report.int8->opset, report.int8->int8_nodes.size(), report.int8->float_convs.size(),
                report.int8->s8_weight_float_convs);
  }
  std::printf(" %.1f MiB -> %.1f MiB (%.2fx smaller)\n", static_cast<double>(report.input_bytes) / (1 << 20),
              static_cast<double>(report.output_bytes) / (1 << 20),
              report.output_bytes ? static_cast<double>(report.input_bytes) / static_cast<double>(report.output_bytes) : 0.0);
}

void run(const CompressArgs& args) {
  check_flag_combinations(args);
  compression::CompressOptions options;
  auto prune_bar = std::make_shared<std::optional<ProgressBar>>();
  if (args.sparsity_flag->count()) options.prune = prune_options(args, prune_bar);
  auto bar = std::make_shared<std::optional<ProgressBar>>();
  if (args.int8) options.int8 = int8_options(args, bar);
  const std::string model = args.model.empty() ? yolo::default_model_path() : args.model;
  const compression::CompressReport report = compression::compress(model, args.output, options);
  if (*bar) (*bar)->finish();
  if (args.verbose && report.prune) print_layers(*report.prune);
  if (args.verbose && report.int8) print_ranges(*report.int8);
  print_summary(args, report);
}

}  // namespace

void add_compress_command(CLI::App& app) {
  auto args = std::make_shared<CompressArgs>();
  CLI::App* cmd = app.add_subcommand(
      "compress", "Prune and/or quantize a float ONNX model (INT8 from calibration images); writes standard ONNX");
  cmd->add_option("model", args->model, "float ONNX model (default: $SPARROW_MODEL, else ../shared/models/yolov5n.onnx)");
  cmd->add_option("-o,--output", args->output, "ONNX file to write")->required();
  args->sparsity_flag = cmd->add_option("--sparsity", args->sparsity,
                                        "prune: fraction in [0, 1) of each conv's weights to zero (first conv and Detect head "
                                        "stay dense); lowrank: fraction of each 1x1 conv's weights (and MACs) removed by "
                                        "factoring it at rank floor((1 - S)·O·I/(O + I))");
  args->block_flag = cmd->add_option("--block", args->block,
                                     "prune blocks of this many consecutive input channels: 1 or 4 (default: 1)");
  args->method_flag = cmd->add_option("--method", args->method,
                                      "how to prune: magnitude (default: the smallest weights), obs (one-shot OBC / SparseGPT: "
                                      "OBS saliency and weight updates on calibration images, layer by layer) or lowrank "
                                      "(each 1x1 conv W becomes two, A·B, fitted to its output on calibration images, layer "
                                      "by layer)");
  args->allocation_flag = cmd->add_option(
      "--allocation", args->allocation,
      "how --sparsity is spread over convs: sensitivity (--method obs's default: each conv's share set by its measured cost "
      "to the model's output, the pruned convs' weights together at the target) or uniform (every conv at the target)");
  args->seed_flag = cmd->add_option("--seed", args->seed, "--method obs or lowrank: seed of the pixels sampled in large layers (default: 0)");
  cmd->add_flag("--int8", args->int8, "quantize: s8 weights per output channel, u8 activations per tensor");
  args->image_flags = {
      cmd->add_option("--calibration", args->calibration,
                      "folder of calibration images for --int8 and --method obs or lowrank (default: ../shared/data/coco_train160)"),
      cmd->add_option("--calibration-images", args->calibration_images, "how many of its images to use (default: 64)")
          ->check(CLI::Range(1, 100000))};
  args->calibration_flags = {
      args->image_flags[0], args->image_flags[1],
      cmd->add_option("--calibration-method", args->calibration_method, "minmax, percentile or mse (default: percentile)")
          ->check(CLI::IsMember({"minmax", "percentile", "mse"}))};
  cmd->add_option("--exclude", args->exclude,
                  "nodes to keep float and convs to keep dense (beyond the Detect head and the first conv): names, or "
                  "globs over them such as '/model.1[0-9]/*'");
  cmd->add_option("--num-cores", args->num_cores, "threads for calibration (default: every core)")->check(CLI::NonNegativeNumber);
  cmd->add_flag("-v,--verbose", args->verbose, "print each conv's sparsity (obs: and its output error next to magnitude's; lowrank: its rank and output error next "
                "to the plain SVD's) and each activation's range and grid");
  cmd->callback([args] { run(*args); });
}

}  // namespace sparrow::cli
