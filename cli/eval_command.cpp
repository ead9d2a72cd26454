// sparrow eval: COCO mAP of a model on a YOLO-layout dataset, as pycocotools computes it.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "commands.h"
#include "model_options.h"
#include "progress_bar.h"
#include "sparrow/error.h"
#include "sparrow/output_file.h"
#include "sparrow/yolo/coco_eval.h"
#include "sparrow/yolo/dataset.h"
#include "sparrow/yolo/dataset_scoring.h"
#include "sparrow/yolo/detector.h"
#include "yolo_options.h"

namespace sparrow::cli {
namespace {

struct EvalArgs {
  ModelOptions model;
  YoloOptions yolo;
  std::string data;
  std::string annotations;  // COCO json; default: the dataset's annotations/instances_*.json
  std::string results_json;  // empty: the detections are not written
  std::string export_json;   // empty: the summary is only printed
};

yolo::NmsOptions eval_defaults() {
  yolo::NmsOptions o;  // ultralytics val.py: every class above the threshold, 300 per image
  o.conf_threshold = 0.001f;
  o.iou_threshold = 0.65f;
  o.max_det = 300;
  o.multi_label = true;
  return o;
}

void print_per_class(const yolo::CocoEvalResult& r, const yolo::CocoGroundTruth& gt) {
  std::map<int64_t, std::string> names;
  for (const auto& c : gt.categories) names[c.id] = c.name;
  std::printf("\n%-16s %8s\n", "class", "AP");
  for (const auto& [id, ap] : r.per_category_ap) {
    if (ap >= 0) std::printf("%-16s %8.3f\n", names[id].c_str(), ap);
  }
}

// The summary at full precision, for scripts (the printed table rounds to 3 decimals, as
// pycocotools does).
void export_summary(const std::string& path, const EvalArgs& args, const yolo::CocoEvalResult& r, size_t images) {
  static const char* const kNames[] = {"ap50_95", "ap50", "ap75", "ap_small", "ap_medium", "ap_large",
                                       "ar1", "ar10", "ar100", "ar_small", "ar_medium", "ar_large"};
  nlohmann::json j;
  j["model"] = args.model.resolved_model();
  j["data"] = args.data;
  j["images"] = images;
  for (size_t i = 0; i < r.stats.size(); ++i) j[kNames[i]] = r.stats[i];
  write_text_file(path, j.dump(2) + "\n");
}

void run(const EvalArgs& args) {
  for (const std::string& out : {args.export_json, args.results_json}) {
    if (!out.empty()) check_writable(out);
  }
  const yolo::Dataset dataset = yolo::load_dataset(args.data);
  yolo::DetectorOptions options;
  options.compile = args.model.compile_options();
  options.nms = args.yolo.nms;
  options.decode = args.yolo.decode();
  const yolo::Detector detector(args.model.resolved_model(), options);
  if (detector.class_names().size() != dataset.names.size()) {
    throw Error(ErrorCode::kInvalidArgument, "the model predicts " + std::to_string(detector.class_names().size()) +
                                                 " classes, the dataset's data.yaml names " +
                                                 std::to_string(dataset.names.size()));
  }
  std::fprintf(stderr, "%zu images (%d without labels, %d label files without images ignored), batch %lld\n",
               dataset.images.size(), dataset.images_without_labels, dataset.label_files_without_image,
               static_cast<long long>(detector.batch_size()));

  std::vector<std::pair<int64_t, std::vector<yolo::Detection>>> results;
  std::map<int64_t, std::pair<int, int>> sizes;
  yolo::Timings timings;
  ProgressBar progress("eval", dataset.images.size());
  const size_t batch = static_cast<size_t>(detector.batch_size());
  for (size_t first = 0; first < dataset.images.size(); first += batch) {
    std::vector<cv::Mat> images;
    std::vector<int64_t> ids;
    for (size_t i = first; i < std::min(first + batch, dataset.images.size()); ++i) {
      images.push_back(yolo::decode_image_file(dataset.images[i].path, options.decode));
      ids.push_back(dataset.images[i].id);
      sizes[ids.back()] = {images.back().cols, images.back().rows};
    }
    std::vector<yolo::ImageDetections> out = detector.detect(images, &timings);
    for (size_t i = 0; i < out.size(); ++i) results.emplace_back(ids[i], std::move(out[i].detections));
    progress.update(first + images.size());
  }
  progress.finish();

  const std::string json = args.annotations.empty() ? dataset.coco_annotations : args.annotations;
  const yolo::DatasetGroundTruth truth = yolo::dataset_ground_truth(dataset, json, sizes);
  const yolo::CocoGroundTruth& gt = truth.gt;
  // pycocotools evaluates the ground truth's images; images the json does not know are skipped.
  if (truth.image_ids.size() < dataset.images.size()) {
    std::fprintf(stderr, "%zu image(s) are not in %s and are not evaluated\n", dataset.images.size() - truth.image_ids.size(),
                 json.c_str());
  }
  const std::vector<yolo::CocoDetection> dets = yolo::coco_detections(truth, results);
  if (!args.results_json.empty()) yolo::write_coco_detections(args.results_json, dets);
  const yolo::CocoEvalResult r = yolo::evaluate_coco(gt, dets);
  const double n = static_cast<double>(dataset.images.size());
  std::printf("Ground truth: %s\n", json.empty() ? "YOLO labels" : json.c_str());
  std::printf("Speed: %.1f ms pre-process, %.1f ms inference, %.1f ms post-process per image\n\n",
              timings.preprocess_ms / n, timings.inference_ms / n, timings.postprocess_ms / n);
  std::printf("%s", yolo::format_coco_summary(r).c_str());
  print_per_class(r, gt);
  if (!args.export_json.empty()) export_summary(args.export_json, args, r, dataset.images.size());
  if (!args.results_json.empty()) {
    std::printf("\nResults written to %s (%zu detections)\n", args.results_json.c_str(), dets.size());
  }
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  CLI::App* cmd = app.add_subcommand("eval", "COCO mAP on a dataset (images/ + labels/ + data.yaml)");
  args->model.add_to(*cmd);
  args->yolo.add_to(*cmd, eval_defaults());
  cmd->add_option("-d,--data", args->data, "Dataset folder with data.yaml, or the data.yaml")->required();
  cmd->add_option("--annotations", args->annotations, "COCO json ground truth (default: annotations/instances_*.json)");
  cmd->add_option("--results-json", args->results_json, "Write the detections as COCO results json to this file");
  cmd->add_option("-x,--export-json", args->export_json, "Write the AP/AR summary at full precision as JSON to this file");
  cmd->callback([args] { run(*args); });
}

}  // namespace sparrow::cli
