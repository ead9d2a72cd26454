// Sparrow and another runtime (ONNX Runtime through ort_pipe.js) on the same model, inputs and
// YOLO pipeline: only the inference differs. Reports, per image, whether both find the same
// objects (classes, largest box and score differences) and, on a dataset, both COCO mAPs.
//
//   cross_runtime MODEL --peer "node benchmarks/peers/ort/ort_pipe.js MODEL --num-cores 2"
//       --images ../shared/data/images/bus.jpg ../shared/data/images/zidane.jpg --data ../shared/data/coco128
//   (one line)
#include <CLI/CLI.hpp>
#include <opencv2/core.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include "peer_process.h"
#include "sparrow/error.h"
#include "sparrow/yolo/dataset.h"
#include "sparrow/yolo/dataset_scoring.h"
#include "sparrow/yolo/detector.h"
#include "sparrow/yolo/letterbox.h"

namespace sparrow::bench {
namespace {

struct Args {
  std::string model, peer, data, tensor;
  std::vector<std::string> images;
  int num_cores = 0;
};

struct BothDetections {
  std::vector<yolo::Detection> sparrow, peer;
  double max_output_difference = 0;  // over the raw model outputs
};

BothDetections detect_both(const yolo::Detector& detector, PeerProcess& peer, const cv::Mat& image, const yolo::NmsOptions& nms) {
  Tensor input(DType::kFloat32, {1, 3, detector.input_height(), detector.input_width()});
  const yolo::LetterboxTransform transform = detector.preprocess(image, input.data_as<float>());
  const Tensor ours = detector.engine().run({input})[0];
  const Tensor theirs = peer.run(input);
  if (theirs.shape() != ours.shape()) {
    throw Error(ErrorCode::kInvalidArgument, "the peer's output is " + shape_string(theirs.shape()) + ", Sparrow's " + shape_string(ours.shape()));
  }
  BothDetections both;
  for (int64_t i = 0; i < ours.size(); ++i) {
    both.max_output_difference = std::max(both.max_output_difference, std::fabs(double(ours.data_as<float>()[i]) - theirs.data_as<float>()[i]));
  }
  both.sparrow = detector.postprocess(ours.data_as<float>(), transform, nms);
  both.peer = detector.postprocess(theirs.data_as<float>(), transform, nms);
  return both;
}

double iou(const yolo::Detection& a, const yolo::Detection& b) {
  const double w = std::max(0.0f, std::min(a.x2, b.x2) - std::max(a.x1, b.x1));
  const double h = std::max(0.0f, std::min(a.y2, b.y2) - std::max(a.y1, b.y1));
  const double inter = w * h;
  return inter / ((a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter);
}

// Pairs each of Sparrow's detections with the peer's of the same class that overlaps it most.
void compare_image(const std::string& name, const BothDetections& both, const std::vector<std::string>& classes) {
  double box = 0, score = 0;
  int unmatched = static_cast<int>(both.peer.size() > both.sparrow.size() ? both.peer.size() - both.sparrow.size() : 0);
  std::printf("%s: Sparrow %zu, peer %zu detection(s); largest raw output difference %.4f\n", name.c_str(),
              both.sparrow.size(), both.peer.size(), both.max_output_difference);
  for (const yolo::Detection& d : both.sparrow) {
    const yolo::Detection* best = nullptr;
    for (const yolo::Detection& p : both.peer) {
      if (p.class_id == d.class_id && (!best || iou(d, p) > iou(d, *best))) best = &p;
    }
    const std::string cls = classes.at(static_cast<size_t>(d.class_id));
    if (!best || iou(d, *best) < 0.5) {
      ++unmatched;
      std::printf("  %-12s %.3f [%7.1f %7.1f %7.1f %7.1f] | none\n", cls.c_str(), d.score, d.x1, d.y1, d.x2, d.y2);
      continue;
    }
    box = std::max({box, double(std::fabs(d.x1 - best->x1)), double(std::fabs(d.y1 - best->y1)),
                    double(std::fabs(d.x2 - best->x2)), double(std::fabs(d.y2 - best->y2))});
    score = std::max(score, double(std::fabs(d.score - best->score)));
    std::printf("  %-12s %.3f [%7.1f %7.1f %7.1f %7.1f] | %.3f [%7.1f %7.1f %7.1f %7.1f]\n", cls.c_str(), d.score, d.x1,
                d.y1, d.x2, d.y2, best->score, best->x1, best->y1, best->x2, best->y2);
  }
  std::printf("  same objects: %s; largest box difference %.2f px; largest score difference %.4f\n",
              unmatched == 0 && both.sparrow.size() == both.peer.size() ? "yes" : "no", box, score);
}

yolo::NmsOptions eval_nms() {
  yolo::NmsOptions o;  // as `sparrow eval` (ultralytics val.py)
  o.conf_threshold = 0.001f;
  o.iou_threshold = 0.65f;
  o.max_det = 300;
  o.multi_label = true;
  return o;
}

void compare_dataset(const yolo::Detector& detector, PeerProcess& peer, const std::string& path) {
  const yolo::Dataset dataset = yolo::load_dataset(path);
  std::vector<std::pair<int64_t, std::vector<yolo::Detection>>> ours, theirs;
  std::map<int64_t, std::pair<int, int>> sizes;
  double max_difference = 0;
  for (const yolo::DatasetImage& image : dataset.images) {
    const cv::Mat bgr = yolo::decode_image_file(image.path);
    sizes[image.id] = {bgr.cols, bgr.rows};
    BothDetections both = detect_both(detector, peer, bgr, eval_nms());
    max_difference = std::max(max_difference, both.max_output_difference);
    ours.emplace_back(image.id, std::move(both.sparrow));
    theirs.emplace_back(image.id, std::move(both.peer));
  }
  const yolo::DatasetGroundTruth truth = yolo::dataset_ground_truth(dataset, dataset.coco_annotations, sizes);
  const yolo::CocoEvalResult a = yolo::evaluate_coco(truth.gt, yolo::coco_detections(truth, ours));
  const yolo::CocoEvalResult b = yolo::evaluate_coco(truth.gt, yolo::coco_detections(truth, theirs));
  std::printf("%s (%zu images): AP50-95 Sparrow %.4f, peer %.4f, difference %.4f; AP50 Sparrow %.4f, peer %.4f; "
              "largest raw output difference %.4f\n",
              path.c_str(), dataset.images.size(), a.stats[yolo::kAP], b.stats[yolo::kAP], a.stats[yolo::kAP] - b.stats[yolo::kAP],
              a.stats[yolo::kAP50], b.stats[yolo::kAP50], max_difference);
}

// The element type ONNX's shape inference gives `tensor` (the quantized tensors are integers).
int32_t elem_type_of(onnx::ModelProto model, const std::string& tensor) {
  onnx::shape_inference::InferShapes(model);
  for (const auto& info : model.graph().value_info()) {
    if (info.name() == tensor) return info.type().tensor_type().elem_type();
  }
  throw Error(ErrorCode::kInvalidArgument, "--tensor '" + tensor + "': no such tensor with an inferred type in the model");
}

// The model with `tensor` as its only output, for finding where two runtimes part ways.
std::string model_with_output(const std::string& path, const std::string& tensor) {
  onnx::ModelProto model;
  std::ifstream in(path, std::ios::binary);
  if (!model.ParseFromIstream(&in)) throw Error(ErrorCode::kInvalidModel, "cannot parse '" + path + "'");
  const int32_t elem_type = elem_type_of(model, tensor);
  model.mutable_graph()->clear_output();
  onnx::ValueInfoProto* out = model.mutable_graph()->add_output();
  out->set_name(tensor);
  out->mutable_type()->mutable_tensor_type()->set_elem_type(elem_type);
  out->mutable_type()->mutable_tensor_type()->mutable_shape();
  const std::string file = std::filesystem::temp_directory_path() / "cross_runtime_tensor.onnx";
  std::ofstream(file, std::ios::binary) << model.SerializeAsString();
  return file;
}

std::vector<double> values_of(const Tensor& t) {
  std::vector<double> values(static_cast<size_t>(t.size()));
  for (int64_t i = 0; i < t.size(); ++i) {
    switch (t.dtype()) {
      case DType::kFloat32: values[i] = t.data_as<float>()[i]; break;
      case DType::kUint8: values[i] = t.data_as<uint8_t>()[i]; break;
      case DType::kInt8: values[i] = t.data_as<int8_t>()[i]; break;
      default: throw Error(ErrorCode::kInvalidArgument, "--tensor: only float32, uint8 and int8 tensors are compared");
    }
  }
  return values;
}

// Both runtimes' values of one tensor on the letterboxed image: how many differ, and by how much.
void compare_tensor(const Args& args) {
  const std::string file = model_with_output(args.model, args.tensor);
  CompileOptions options;
  options.num_cores = args.num_cores;
  const Engine engine = Engine::load(file, options);
  std::string peer_command = args.peer;
  for (size_t at; (at = peer_command.find("{model}")) != std::string::npos;) peer_command.replace(at, 7, file);
  PeerProcess peer(peer_command);
  const TensorSpec& spec = engine.inputs()[0];
  for (const std::string& path : args.images) {
    Tensor input(DType::kFloat32, spec.shape);
    yolo::letterbox(yolo::decode_image_file(path), static_cast<int>(spec.shape[2]), static_cast<int>(spec.shape[3]), input.data_as<float>());
    const Tensor a = engine.run({input})[0], b = peer.run(input);
    const std::vector<double> ours = values_of(a), theirs = values_of(b);
    double worst = 0;
    int64_t differing = 0;
    for (size_t i = 0; i < ours.size(); ++i) {
      const double d = std::fabs(ours[i] - theirs[i]);
      worst = std::max(worst, d);
      differing += d > 0;
    }
    std::printf("%s: %s %s: %lld of %lld values differ, by up to %g\n", std::filesystem::path(path).filename().c_str(),
                args.tensor.c_str(), shape_string(a.shape()).c_str(), static_cast<long long>(differing),
                static_cast<long long>(a.size()), worst);
  }
}

void run(const Args& args) {
  if (!args.tensor.empty()) return compare_tensor(args);
  yolo::DetectorOptions options;
  options.compile.batch_size = 1;
  options.compile.num_cores = args.num_cores;
  const yolo::Detector detector(args.model, options);
  PeerProcess peer(args.peer);
  for (const std::string& path : args.images) {
    compare_image(std::filesystem::path(path).filename().string(), detect_both(detector, peer, yolo::decode_image_file(path), {}),
                  detector.class_names());
  }
  if (!args.data.empty()) compare_dataset(detector, peer, args.data);
}

}  // namespace
}  // namespace sparrow::bench

int main(int argc, char** argv) {
  sparrow::bench::Args args;
  CLI::App app{"Sparrow and another runtime on the same model and YOLO pipeline", "cross_runtime"};
  app.add_option("model", args.model, "ONNX model")->required();
  app.add_option("--peer", args.peer, "command of the peer runtime (benchmarks/peers/ort/ort_pipe.js MODEL)")->required();
  app.add_option("--images", args.images, "images whose detections to compare (detect's thresholds)");
  app.add_option("--data", args.data, "YOLO dataset whose COCO mAP to compare (eval's thresholds)");
  app.add_option("--tensor", args.tensor, "compare this tensor instead ({model} in --peer becomes the model that outputs it)");
  app.add_option("--num-cores", args.num_cores, "Sparrow's threads (default: every core)");
  CLI11_PARSE(app, argc, argv);
  try {
    sparrow::bench::run(args);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cross_runtime: %s\n", e.what());
    return 1;
  }
  return 0;
}
