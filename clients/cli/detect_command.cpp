// sparrow-client detect: Detect RPCs on image files, printed like `sparrow detect` prints them.
#include <grpcpp/client_context.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "commands.h"
#include "connection.h"
#include "detection_output.h"
#include "image_files.h"
#include "rpc_error.h"
#include "sparrow/error.h"
#include "sparrow/v1/detection.grpc.pb.h"
#include "sparrow/yolo/image_files.h"

namespace sparrow::client {
namespace {

struct DetectArgs {
  std::vector<std::string> paths;
  std::string out_dir;
  bool json = false;
  int batch = 1;
  v1::DetectOptions options;  // only the flags given are set: the model's defaults apply otherwise
};

// What the server reported over all images, for the summary on stderr.
struct Totals {
  size_t images = 0, requests = 0;
  double preprocess = 0, queue = 0, inference = 0, postprocess = 0, round_trip = 0;

  void add(const v1::ImageResult& r) {
    ++images;
    preprocess += r.timings().preprocess_ms();
    queue += r.timings().queue_ms();
    inference += r.timings().inference_ms();
    postprocess += r.timings().postprocess_ms();
  }
  void print() const {
    if (images == 0) return;
    std::fprintf(stderr,
                 "%zu image(s): pre-process %.1f ms, queue %.1f ms, inference %.1f ms, post-process %.1f ms per image "
                 "(server); round trip %.1f ms per request\n",
                 images, preprocess / images, queue / images, inference / images, postprocess / images,
                 round_trip / requests);
  }
};

std::string join(const std::vector<std::string>& files) {
  std::string s;
  for (const std::string& f : files) {
    if (!s.empty()) s += ", ";
    s += f;
  }
  return s;
}

class DetectRun {
 public:
  DetectRun(const DetectArgs& args, const Connection& connection)
      : args_(args), connection_(connection), stub_(v1::Detection::NewStub(connection.channel())) {}

  int run() {
    const std::vector<std::string> files = yolo::image_files(args_.paths);
    if (files.empty()) throw Error(ErrorCode::kInvalidArgument, "no images given (files or folders of images)");
    if (!args_.out_dir.empty()) std::filesystem::create_directories(args_.out_dir);
    for (size_t first = 0; first < files.size(); first += static_cast<size_t>(args_.batch)) {
      const size_t last = std::min(files.size(), first + static_cast<size_t>(args_.batch));
      send({files.begin() + static_cast<std::ptrdiff_t>(first), files.begin() + static_cast<std::ptrdiff_t>(last)});
    }
    if (args_.json) std::printf("%s\n", all_.dump(2).c_str());
    totals_.print();
    return failures_ ? 1 : 0;
  }

 private:
  // One request with the files that could be read; a file or image the server rejects is
  // reported and skipped, any other failure (server down, unknown model) ends the command.
  void send(const std::vector<std::string>& batch) {
    v1::DetectRequest request;
    request.set_model(connection_.model);
    *request.mutable_options() = args_.options;
    request.set_request_id("sparrow-client-" + std::to_string(totals_.requests));
    std::vector<std::string> sent;
    for (const std::string& file : batch) {
      try {
        request.add_images(read_file_bytes(file));
        sent.push_back(file);
      } catch (const Error& e) {
        std::fprintf(stderr, "sparrow-client: %s\n", e.what());
        ++failures_;
      }
    }
    if (sent.empty()) return;
    grpc::ClientContext context;
    connection_.set_deadline(context, kDefaultTimeoutSeconds);
    v1::DetectResponse response;
    const auto start = std::chrono::steady_clock::now();
    const grpc::Status status = stub_->Detect(&context, request, &response);
    if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
        status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      std::fprintf(stderr, "sparrow-client: %s: %s\n", join(sent).c_str(), describe(status).c_str());
      failures_ += sent.size();
      return;
    }
    check(status, "detect " + join(sent));
    totals_.round_trip += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    ++totals_.requests;
    if (response.results_size() != static_cast<int>(sent.size())) {
      throw Error(ErrorCode::kInternal, "the server answered " + std::to_string(response.results_size()) +
                                            " result(s) for " + std::to_string(sent.size()) + " image(s)");
    }
    for (size_t i = 0; i < sent.size(); ++i) output(sent[i], response.results(static_cast<int>(i)));
  }

  void output(const std::string& file, const v1::ImageResult& result) {
    totals_.add(result);
    if (args_.json) {
      all_.push_back(to_json(file, result));
    } else {
      print_text(file, result);
    }
    if (!args_.out_dir.empty()) write_annotated(file, result, args_.out_dir);
  }

  const DetectArgs& args_;
  const Connection& connection_;
  std::unique_ptr<v1::Detection::Stub> stub_;
  nlohmann::json all_ = nlohmann::json::array();
  Totals totals_;
  size_t failures_ = 0;
};

struct NmsFlags {
  float conf = 0, iou = 0;
  int max_det = 0;
  std::vector<int> classes;
  bool agnostic = false;
  CLI::Option *conf_flag = nullptr, *iou_flag = nullptr, *max_det_flag = nullptr;

  void add_to(CLI::App& cmd) {
    conf_flag = cmd.add_option("--conf", conf, "Confidence threshold (default: the model's, 0.25)")->check(CLI::Range(0.0f, 1.0f));
    iou_flag = cmd.add_option("--iou", iou, "NMS IoU threshold (default: the model's, 0.45)")->check(CLI::Range(0.0f, 1.0f));
    max_det_flag = cmd.add_option("--max-det", max_det, "Maximum detections per image (default: the model's, 300)")
                       ->check(CLI::Range(1, 100000));
    cmd.add_option("--classes", classes, "Keep only these class ids")->check(CLI::Range(0, 1000000));
    cmd.add_flag("--agnostic", agnostic, "Class-agnostic NMS");
  }
  v1::DetectOptions to_proto() const {
    v1::DetectOptions o;
    if (conf_flag->count()) o.set_conf_threshold(conf);
    if (iou_flag->count()) o.set_iou_threshold(iou);
    if (max_det_flag->count()) o.set_max_det(max_det);
    for (int c : classes) o.add_classes(c);
    o.set_agnostic(agnostic);
    return o;
  }
};

}  // namespace

void add_detect_command(CLI::App& app, const Connection& connection) {
  auto args = std::make_shared<DetectArgs>();
  auto nms = std::make_shared<NmsFlags>();
  CLI::App* cmd = app.add_subcommand("detect", "Detect objects in images on the server: IMAGES_OR_FOLDERS...");
  cmd->add_option("paths", args->paths, "Image files or folders of images")->required();
  cmd->add_flag("--json", args->json, "Print detections (and the server's timings) as JSON instead of text");
  cmd->add_option("-o,--out", args->out_dir, "Write annotated images to this folder");
  cmd->add_option("--batch", args->batch, "Images per request")->check(CLI::Range(1, 1024))->capture_default_str();
  nms->add_to(*cmd);
  cmd->callback([args, nms, &connection] {
    args->options = nms->to_proto();
    if (DetectRun(*args, connection).run() != 0) {
      throw Error(ErrorCode::kInvalidArgument, "some images could not be processed (see above)");
    }
  });
}

}  // namespace sparrow::client
