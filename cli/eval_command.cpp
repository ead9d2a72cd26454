// sparrow eval: COCO mAP of a model on a YOLO-layout dataset, as pycocotools computes it.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <set>
#include <filesystem>
#include <map>
#include <memory>
#include <opencv2/core.hpp>

#include "commands.h"
#include "model_options.h"
#include "progress_bar.h"
#include "sparrow/error.h"
#include "sparrow/yolo/coco_eval.h"
#include "sparrow/yolo/dataset.h"
#include "sparrow/yolo/detector.h"
#include "yolo_options.h"

namespace sparrow::cli {
namespace fs = std::filesystem;
namespace {

struct EvalArgs {
  ModelOptions model;
  YoloOptions yolo;
  std::string data;
  std::string annotations;  // COCO json; default: the dataset's annotations/instances_*.json
  std::string results_json;  // empty: the detections are not written
};

yolo::NmsOptions eval_defaults() {
  yolo::NmsOptions o;  // ultralytics val.py: every class above the threshold, 300 per image
  o.conf_threshold = 0.001f;
  o.iou_threshold = 0.65f;
  o.max_det = 300;
  o.multi_label = true;
  return o;
}

// Python's round(x, digits), as ultralytics rounds COCO results before writing them.
double round_to(double v, int digits) {
  const double scale = std::pow(10.0, digits);
  return std::nearbyint(v * scale) / scale;
}

// Ground truth: the COCO json limited to the dataset's images (matched by file name; `ids` maps
// dataset image ids to the json's), or boxes from the YOLO labels.
yolo::CocoGroundTruth ground_truth(const yolo::Dataset& d, const std::string& json,
                                   const std::map<int64_t, cv::Size>& sizes, std::map<int64_t, int64_t>& ids) {
  yolo::CocoGroundTruth gt;
  if (!json.empty()) {
    yolo::CocoGroundTruth all = yolo::load_coco_ground_truth(json);
    std::map<std::string, int64_t> present;
    for (const auto& image : d.images) present[fs::path(image.file_name).filename().string()] = image.id;
    std::set<int64_t> kept;
    for (const auto& image : all.images) {
      auto it = present.find(fs::path(image.file_name).filename().string());
      if (it != present.end()) {
        gt.images.push_back(image);
        kept.insert(image.id);
        ids[it->second] = image.id;
      }
    }
    for (const auto& a : all.annotations) {
      if (kept.count(a.image_id)) gt.annotations.push_back(a);
    }
    gt.categories = all.categories;
    return gt;
  }
  for (size_t c = 0; c < d.names.size(); ++c) gt.categories.push_back({d.category_ids.empty() ? int64_t(c) : d.category_ids[c], d.names[c]});
  int64_t next_id = 1;
  for (const auto& image : d.images) {
    ids[image.id] = image.id;
    const cv::Size size = sizes.at(image.id);
    gt.images.push_back({image.id, size.width, size.height, image.file_name});
    for (const auto& l : image.labels) {
      const double w = l.w * size.width, h = l.h * size.height;
      gt.annotations.push_back({next_id++, image.id, gt.categories[l.class_id].id,
                                {(l.cx - l.w / 2) * size.width, (l.cy - l.h / 2) * size.height, w, h}, w * h, false});
    }
  }
  return gt;
}

// COCO category id for each class: the dataset's map, else the GT's category with the same name.
std::vector<int64_t> category_ids(const yolo::Dataset& d, const yolo::CocoGroundTruth& gt) {
  if (!d.category_ids.empty()) return d.category_ids;
  std::map<std::string, int64_t> by_name;
  for (const auto& c : gt.categories) by_name[c.name] = c.id;
  std::vector<int64_t> ids;
  for (size_t i = 0; i < d.names.size(); ++i) {
    auto it = by_name.find(d.names[i]);
    ids.push_back(it != by_name.end() ? it->second : static_cast<int64_t>(i));
  }
  return ids;
}

void print_per_class(const yolo::CocoEvalResult& r, const yolo::CocoGroundTruth& gt) {
  std::map<int64_t, std::string> names;
  for (const auto& c : gt.categories) names[c.id] = c.name;
  std::printf("\n%-16s %8s\n", "class", "AP");
  for (const auto& [id, ap] : r.per_category_ap) {
    if (ap >= 0) std::printf("%-16s %8.3f\n", names[id].c_str(), ap);
  }
}

void run(const EvalArgs& args) {
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
  std::map<int64_t, cv::Size> sizes;
  yolo::Timings timings;
  ProgressBar progress("eval", dataset.images.size());
  const size_t batch = static_cast<size_t>(detector.batch_size());
  for (size_t first = 0; first < dataset.images.size(); first += batch) {
    std::vector<cv::Mat> images;
    std::vector<int64_t> ids;
    for (size_t i = first; i < std::min(first + batch, dataset.images.size()); ++i) {
      images.push_back(yolo::decode_image_file(dataset.images[i].path, options.decode));
      ids.push_back(dataset.images[i].id);
      sizes[ids.back()] = images.back().size();
    }
    std::vector<yolo::ImageDetections> out = detector.detect(images, &timings);
    for (size_t i = 0; i < out.size(); ++i) results.emplace_back(ids[i], std::move(out[i].detections));
    progress.update(first + images.size());
  }
  progress.finish();

  const std::string json = args.annotations.empty() ? dataset.coco_annotations : args.annotations;
  std::map<int64_t, int64_t> gt_ids;
  const yolo::CocoGroundTruth gt = ground_truth(dataset, json, sizes, gt_ids);
  const std::vector<int64_t> category = category_ids(dataset, gt);
  // pycocotools evaluates the ground truth's images; images the json does not know are skipped.
  if (gt_ids.size() < dataset.images.size()) {
    std::fprintf(stderr, "%zu image(s) are not in %s and are not evaluated\n", dataset.images.size() - gt_ids.size(),
                 json.c_str());
  }
  std::vector<yolo::CocoDetection> dets;
  for (const auto& [image_id, detections] : results) {
    auto gt_id = gt_ids.find(image_id);
    if (gt_id == gt_ids.end()) continue;
    for (const yolo::Detection& d : detections) {
      dets.push_back({gt_id->second, category.at(static_cast<size_t>(d.class_id)),
                      {round_to(d.x1, 3), round_to(d.y1, 3), round_to(d.x2 - d.x1, 3), round_to(d.y2 - d.y1, 3)},
                      round_to(d.score, 5)});
    }
  }
  if (!args.results_json.empty()) yolo::write_coco_detections(args.results_json, dets);
  const yolo::CocoEvalResult r = yolo::evaluate_coco(gt, dets);
  const double n = static_cast<double>(dataset.images.size());
  std::printf("Ground truth: %s\n", json.empty() ? "YOLO labels" : json.c_str());
  std::printf("Speed: %.1f ms pre-process, %.1f ms inference, %.1f ms post-process per image\n\n",
              timings.preprocess_ms / n, timings.inference_ms / n, timings.postprocess_ms / n);
  std::printf("%s", yolo::format_coco_summary(r).c_str());
  print_per_class(r, gt);
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
  cmd->callback([args] { run(*args); });
}

}  // namespace sparrow::cli
