// sparrow run: one batch from .npy files or images; outputs described, and written as .npy with -o.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <opencv2/core.hpp>

#include "commands.h"
#include "model_options.h"
#include "npy.h"
#include "sparrow/error.h"
#include "sparrow/output_file.h"
#include "sparrow/yolo/image_decoder.h"
#include "sparrow/yolo/letterbox.h"

namespace sparrow::cli {
namespace fs = std::filesystem;
namespace {

struct RunArgs {
  ModelOptions model;
  std::vector<std::string> inputs;
  std::string output_dir;  // empty: outputs are described, not written
};

bool is_npy(const std::string& path) { return fs::path(path).extension() == ".npy"; }

// Images fill the batch of the first (NCHW float) input, one image per batch item.
Tensor images_to_tensor(const std::vector<std::string>& paths, const TensorSpec& spec) {
  if (spec.shape.size() != 4 || spec.shape[1] != 3 || spec.dtype != DType::kFloat32) {
    throw Error(ErrorCode::kInvalidArgument, "image input needs a float32 Nx3xHxW model input, '" + spec.name + "' is " +
                                                 shape_string(spec.shape));
  }
  if (static_cast<int64_t>(paths.size()) != spec.shape[0]) {
    throw Error(ErrorCode::kInvalidArgument, std::to_string(paths.size()) + " image(s) given for batch size " +
                                                 std::to_string(spec.shape[0]));
  }
  Tensor t(DType::kFloat32, spec.shape);
  const int64_t h = spec.shape[2], w = spec.shape[3];
  for (size_t i = 0; i < paths.size(); ++i) {
    const cv::Mat image = yolo::decode_image_file(paths[i]);
    yolo::letterbox(image, static_cast<int>(h), static_cast<int>(w), t.data_as<float>() + i * 3 * h * w);
  }
  return t;
}

std::string file_name_for(const std::string& output_name) {
  std::string s = output_name;
  for (char& c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  }
  return s + ".npy";
}

void run(const RunArgs& args) {
  const Engine engine = Engine::load(args.model.resolved_model(), args.model.compile_options());
  std::vector<Tensor> inputs;
  if (!args.inputs.empty() && std::all_of(args.inputs.begin(), args.inputs.end(), is_npy)) {
    for (const std::string& p : args.inputs) inputs.push_back(read_npy(p));
  } else if (std::none_of(args.inputs.begin(), args.inputs.end(), is_npy)) {
    inputs.push_back(images_to_tensor(args.inputs, engine.inputs().at(0)));
  } else {
    throw Error(ErrorCode::kInvalidArgument, "give either .npy files (one per model input) or images, not both");
  }
  if (!args.output_dir.empty()) make_output_folder(args.output_dir);
  const std::vector<Tensor> outputs = engine.run(inputs);
  for (size_t i = 0; i < outputs.size(); ++i) {
    std::printf("%s: %s %s", engine.outputs()[i].name.c_str(), dtype_name(outputs[i].dtype()),
                shape_string(outputs[i].shape()).c_str());
    if (!args.output_dir.empty()) {
      const fs::path path = fs::path(args.output_dir) / file_name_for(engine.outputs()[i].name);
      write_npy(path.string(), outputs[i]);
      std::printf(" -> %s", path.c_str());
    }
    std::printf("\n");
  }
  if (args.output_dir.empty()) std::fprintf(stderr, "outputs not written: -o DIR writes each as DIR/NAME.npy\n");
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* cmd = app.add_subcommand("run", "Run one batch: inputs from .npy files or images, outputs to .npy files (-o)");
  args->model.add_to(*cmd);
  cmd->add_option("-i,--input", args->inputs, "Input .npy file per model input, or one image per batch item")
      ->required();
  cmd->add_option("-o,--output-dir", args->output_dir, "Write each output to this folder as NAME.npy");
  cmd->callback([args] { run(*args); });
}

}  // namespace sparrow::cli
