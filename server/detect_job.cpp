#include "detect_job.h"

#include <atomic>
#include <mutex>
#include <opencv2/core.hpp>

#include "sparrow/yolo/image_decoder.h"
#include "sparrow/yolo/letterbox.h"
#include "status.h"

namespace sparrow::server {
namespace {

using Steady = std::chrono::steady_clock;

double ms_since(Steady::time_point t) { return std::chrono::duration<double, std::milli>(Steady::now() - t).count(); }

// Shared by the job's items. Each item writes only its own entries; the job completes when the
// last item is done or failed, so the request it reads stays valid for all of them.
struct JobState {
  DetectJob job;
  v1::DetectResponse response;
  std::vector<yolo::LetterboxTransform> transforms;
  std::atomic<size_t> remaining{0};
  std::mutex error_mutex;
  grpc::Status error = grpc::Status::OK;  // the first failure, if any

  void item_finished() {
    if (--remaining > 0) return;
    job.complete(error, std::move(response));
  }
  void item_failed(const grpc::Status& status) {
    {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (error.ok()) error = status;
    }
    item_finished();
  }
  bool failed() {
    std::lock_guard<std::mutex> lock(error_mutex);
    return !error.ok();
  }
};

// Decodes image i and letterboxes it into the batch slot.
std::string prepare(JobState& state, size_t i, float* dst) {
  if (state.failed()) return "skipped: another image of the request failed";
  const auto start = Steady::now();
  const yolo::Detector& detector = state.job.model->detector();
  try {
    const std::string_view bytes = state.job.images[i];
    const cv::Mat image = yolo::decode_image(bytes.data(), bytes.size(), detector.options().decode);
    state.transforms[i] = detector.preprocess(image, dst);
    v1::ImageResult* r = state.response.mutable_results(static_cast<int>(i));
    r->set_width(image.cols);
    r->set_height(image.rows);
    r->mutable_timings()->set_preprocess_ms(ms_since(start));
    return "";
  } catch (const Error& e) {
    return "image " + std::to_string(i) + ": " + e.what();
  }
}

void postprocess(JobState& state, size_t i, const ItemResult& r) {
  const auto start = Steady::now();
  const yolo::Detector& d = state.job.model->detector();
  v1::ImageResult* out = state.response.mutable_results(static_cast<int>(i));
  add_detected_objects(d.postprocess(r.output, state.transforms[i], state.job.nms), &d.class_names(), *out);
  // The batch's queueing is this image's wait; its share of decoding is already in preprocess_ms.
  out->mutable_timings()->set_queue_ms(r.queue_ms);
  out->mutable_timings()->set_inference_ms(r.inference_ms);
  out->mutable_timings()->set_postprocess_ms(ms_since(start));
}

}  // namespace

void add_detected_objects(const std::vector<yolo::Detection>& detections, const std::vector<std::string>* names,
                          v1::ImageResult& out) {
  for (const yolo::Detection& d : detections) {
    v1::DetectedObject* o = out.add_detections();
    o->mutable_box()->set_x1(d.x1);
    o->mutable_box()->set_y1(d.y1);
    o->mutable_box()->set_x2(d.x2);
    o->mutable_box()->set_y2(d.y2);
    o->set_score(d.score);
    o->set_class_id(d.class_id);
    if (names) o->set_class_name(names->at(static_cast<size_t>(d.class_id)));
  }
}

grpc::Status item_status(ItemFailure failure, const std::string& message) {
  switch (failure) {
    case ItemFailure::kDeadlineExceeded: return {grpc::StatusCode::DEADLINE_EXCEEDED, message};
    case ItemFailure::kCancelled: return {grpc::StatusCode::CANCELLED, message};
    case ItemFailure::kShutdown: return {grpc::StatusCode::UNAVAILABLE, message};
    case ItemFailure::kInvalidInput: return {grpc::StatusCode::INVALID_ARGUMENT, message};
    case ItemFailure::kEngineError: break;
  }
  return {grpc::StatusCode::INTERNAL, message};
}

grpc::Status nms_options(const v1::DetectOptions& r, const yolo::NmsOptions& defaults, yolo::NmsOptions* out) {
  *out = defaults;
  if (r.has_conf_threshold()) out->conf_threshold = r.conf_threshold();
  if (r.has_iou_threshold()) out->iou_threshold = r.iou_threshold();
  if (r.has_max_det()) out->max_det = r.max_det();
  out->classes.assign(r.classes().begin(), r.classes().end());
  out->agnostic = r.agnostic();
  auto bad = [](const std::string& why) { return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, why); };
  if (!(out->conf_threshold >= 0 && out->conf_threshold <= 1)) return bad("conf_threshold must be in [0, 1]");
  if (!(out->iou_threshold >= 0 && out->iou_threshold <= 1)) return bad("iou_threshold must be in [0, 1]");
  if (out->max_det < 1 || out->max_det > 100000) return bad("max_det must be in [1, 100000]");
  for (int c : out->classes) {
    if (c < 0) return bad("class ids must be >= 0");
  }
  return grpc::Status::OK;
}

grpc::Status reserve_items(Model& model, size_t n) {
  const auto capacity = static_cast<size_t>(model.config().queue_capacity);
  // More items than the queue holds could never be queued: retrying would not help.
  if (n > capacity) {
    return {grpc::StatusCode::INVALID_ARGUMENT, "a request may hold at most " + std::to_string(capacity) +
                                                    " images (model '" + model.name() + "' queues that many, "
                                                    "--queue-capacity); this one has " + std::to_string(n)};
  }
  switch (model.batcher().reserve(n)) {
    case DynamicBatcher::Reservation::kReserved: return grpc::Status::OK;
    case DynamicBatcher::Reservation::kDraining: return shutting_down();
    case DynamicBatcher::Reservation::kQueueFull: break;
  }
  return {grpc::StatusCode::RESOURCE_EXHAUSTED, "model '" + model.name() + "' queue is full (capacity " +
                                                    std::to_string(capacity) + " images); retry later"};
}

grpc::Status start_detect(DetectJob job) {
  Model& model = *job.model;
  const size_t n = job.images.size();
  if (grpc::Status s = reserve_items(model, n); !s.ok()) return s;
  auto state = std::make_shared<JobState>();
  state->job = std::move(job);
  state->response.set_model(model.name());
  state->response.set_request_id(state->job.request_id);
  for (size_t i = 0; i < n; ++i) state->response.add_results();
  state->transforms.resize(n);
  state->remaining = n;
  for (size_t i = 0; i < n; ++i) {
    BatchItem b;
    b.deadline = state->job.deadline;
    b.cancelled = state->job.cancelled;
    b.prepare = [state, i](float* dst) { return prepare(*state, i, dst); };
    b.done = [state, i](const ItemResult& r) {
      postprocess(*state, i, r);
      state->item_finished();
    };
    b.failed = [state](ItemFailure failure, const std::string& message) {
      state->item_failed(item_status(failure, message));
    };
    model.batcher().submit(std::move(b));
  }
  return grpc::Status::OK;
}

}  // namespace sparrow::server
