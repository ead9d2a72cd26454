#include "detect_job.h"

#include <atomic>
#include <mutex>
#include <opencv2/core.hpp>

#include "sparrow/yolo/image_decoder.h"
#include "status.h"

namespace sparrow::server {
namespace {

using Steady = std::chrono::steady_clock;

double ms_since(Steady::time_point t) { return std::chrono::duration<double, std::milli>(Steady::now() - t).count(); }

// Shared by the job's items; all of them finish on the batcher thread, so `response` is only
// written there (or, before any item is queued, on the worker).
struct JobState {
  DetectJob job;
  v1::DetectResponse response;
  std::vector<yolo::LetterboxTransform> transforms;
  std::atomic<size_t> remaining{0};
  std::atomic<bool> finished{false};

  void finish(const grpc::Status& status) {
    if (finished.exchange(true)) return;
    job.complete(status, std::move(response));
  }
};

void fill(v1::ImageResult& out, const std::vector<yolo::Detection>& detections, const std::vector<std::string>& names) {
  for (const yolo::Detection& d : detections) {
    v1::DetectedObject* p = out.add_detections();
    p->mutable_box()->set_x1(d.x1);
    p->mutable_box()->set_y1(d.y1);
    p->mutable_box()->set_x2(d.x2);
    p->mutable_box()->set_y2(d.y2);
    p->set_score(d.score);
    p->set_class_id(d.class_id);
    p->set_class_name(names.at(static_cast<size_t>(d.class_id)));
  }
}

// Decodes and letterboxes every image, then queues them; a bad image fails the whole request
// before anything reaches the batcher.
void prepare_and_queue(const std::shared_ptr<JobState>& state) {
  Model& model = *state->job.model;
  const yolo::Detector& detector = model.detector();
  const auto& images = state->job.request.images();
  const size_t n = static_cast<size_t>(images.size());
  const size_t item = static_cast<size_t>(3) * detector.input_height() * detector.input_width();
  std::vector<BatchItem> items(n);
  for (size_t i = 0; i < n; ++i) {
    const auto start = Steady::now();
    try {
      const cv::Mat image = yolo::decode_image(images[static_cast<int>(i)].data(), images[static_cast<int>(i)].size(),
                                               detector.options().decode);
      items[i].pixels.resize(item);
      state->transforms[i] = detector.preprocess_bytes(image, items[i].pixels.data());
      v1::ImageResult* r = state->response.mutable_results(static_cast<int>(i));
      r->set_width(image.cols);
      r->set_height(image.rows);
      r->mutable_timings()->set_preprocess_ms(ms_since(start));
    } catch (const Error& e) {
      model.batcher().release(n);
      state->finish(grpc::Status(to_status(e).error_code(), "image " + std::to_string(i) + ": " + e.what()));
      return;
    }
  }
  state->remaining = n;
  for (size_t i = 0; i < n; ++i) {
    BatchItem& b = items[i];
    b.deadline = state->job.deadline;
    // Once the job has finished (another item failed) its call may be gone: the remaining items
    // must not ask the call's context, only be dropped.
    b.cancelled = [state] { return state->finished || (state->job.cancelled && state->job.cancelled()); };
    b.done = [state, i](const ItemResult& r) {
      if (state->finished) return;
      const auto start = Steady::now();
      const yolo::Detector& d = state->job.model->detector();
      v1::ImageResult* out = state->response.mutable_results(static_cast<int>(i));
      fill(*out, d.postprocess(r.output, state->transforms[i], state->job.nms), d.class_names());
      out->mutable_timings()->set_queue_ms(r.queue_ms);
      out->mutable_timings()->set_inference_ms(r.inference_ms);
      out->mutable_timings()->set_postprocess_ms(ms_since(start));
      if (--state->remaining == 0) state->finish(grpc::Status::OK);
    };
    b.failed = [state](ItemFailure failure, const std::string& message) { state->finish(item_status(failure, message)); };
    model.batcher().submit(std::move(b));
  }
}

std::shared_ptr<JobState> make_state(DetectJob job) {
  auto state = std::make_shared<JobState>();
  state->job = std::move(job);
  const int n = state->job.request.images_size();
  state->response.set_model(state->job.model->name());
  state->response.set_request_id(state->job.request.request_id());
  for (int i = 0; i < n; ++i) state->response.add_results();
  state->transforms.resize(static_cast<size_t>(n));
  return state;
}

}  // namespace

grpc::Status item_status(ItemFailure failure, const std::string& message) {
  switch (failure) {
    case ItemFailure::kDeadlineExceeded: return {grpc::StatusCode::DEADLINE_EXCEEDED, message};
    case ItemFailure::kCancelled: return {grpc::StatusCode::CANCELLED, message};
    case ItemFailure::kShutdown: return {grpc::StatusCode::UNAVAILABLE, message};
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

grpc::Status reserve_images(Model& model, size_t n) {
  if (model.batcher().reserve(n)) return grpc::Status::OK;
  return {grpc::StatusCode::RESOURCE_EXHAUSTED, "model '" + model.name() + "' queue is full (capacity " +
                                                    std::to_string(model.config().queue_capacity) +
                                                    " images); retry later"};
}

void detect_reserved(DetectJob job) { prepare_and_queue(make_state(std::move(job))); }

grpc::Status start_detect(ModelRegistry& registry, DetectJob job) {
  const size_t n = static_cast<size_t>(job.request.images_size());
  if (grpc::Status s = reserve_images(*job.model, n); !s.ok()) return s;
  std::shared_ptr<JobState> state = make_state(std::move(job));
  registry.preprocess_pool().submit([state] { prepare_and_queue(state); });
  return grpc::Status::OK;
}

}  // namespace sparrow::server
