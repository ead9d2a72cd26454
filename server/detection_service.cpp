#include "detection_service.h"

#include <chrono>
#include <deque>
#include <map>
#include <mutex>

#include "client_text.h"
#include "detect_job.h"
#include "model_info.h"
#include "sparrow/benchmark.h"
#include "status.h"

namespace sparrow::server {
namespace {

using Steady = std::chrono::steady_clock;

double seconds_since(Steady::time_point t) { return std::chrono::duration<double>(Steady::now() - t).count(); }

// Finishes a unary call and records it in the metrics.
void finish(ModelRegistry& registry, grpc::ServerUnaryReactor* reactor, const std::string& model,
            const std::string& method, Steady::time_point start, const grpc::Status& status) {
  registry.metrics().request(model, method, status_name(status.error_code()), seconds_since(start));
  reactor->Finish(status);
}

// The model a request names, or the status to answer with.
grpc::Status find_model(ModelRegistry& registry, const std::string& name, Model** model) {
  if (!registry.ready()) return {grpc::StatusCode::UNAVAILABLE, "models are still loading"};
  *model = registry.find(name);
  if (!*model) return {grpc::StatusCode::NOT_FOUND, "no model named " + quoted(name)};
  return grpc::Status::OK;
}

grpc::Status shutting_down() { return {grpc::StatusCode::UNAVAILABLE, "the server is shutting down"}; }

// Checks that can fail a DetectRequest before any work is queued.
grpc::Status validate(ModelRegistry& registry, const v1::DetectRequest& request,
                      std::chrono::system_clock::time_point deadline, Model** model, yolo::NmsOptions* nms) {
  if (deadline <= std::chrono::system_clock::now()) {
    return {grpc::StatusCode::DEADLINE_EXCEEDED, "the deadline had passed when the request arrived"};
  }
  if (grpc::Status s = find_model(registry, request.model(), model); !s.ok()) return s;
  if (request.images_size() == 0) return {grpc::StatusCode::INVALID_ARGUMENT, "the request has no images"};
  const int classes = static_cast<int>((*model)->detector().class_names().size());
  for (int c : request.options().classes()) {
    if (c >= classes) {
      return {grpc::StatusCode::INVALID_ARGUMENT,
              "class id " + std::to_string(c) + " is out of range: the model has " + std::to_string(classes) + " classes"};
    }
  }
  return nms_options(request.options(), (*model)->default_nms(), nms);
}

// A job over a request's images (views into the request).
DetectJob detect_job(Model* model, const v1::DetectRequest& request, const yolo::NmsOptions& nms,
                     std::chrono::system_clock::time_point deadline) {
  DetectJob job;
  job.model = model;
  for (const std::string& image : request.images()) job.images.emplace_back(image);
  job.request_id = request.request_id();
  job.nms = nms;
  job.deadline = deadline;
  return job;
}

// DetectStream: each request is one job; responses are written in request order, at most
// kInFlight requests are being processed per stream (more wait in the client's send window).
// A frame that fails ends the stream with its status, naming the frame; the frames before it are
// answered first.
class DetectStreamReactor final : public grpc::ServerBidiReactor<v1::DetectRequest, v1::DetectResponse> {
 public:
  DetectStreamReactor(ModelRegistry& registry, grpc::CallbackServerContext* context)
      : registry_(registry), context_(context), start_(Steady::now()), call_(registry.calls().enter()) {
    if (!call_) {
      error_ = shutting_down();
      reads_done_ = true;
      maybe_finish();
      return;
    }
    StartRead(&incoming_);
  }

  void OnReadDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!ok || !error_.ok()) {
      reads_done_ = true;
      maybe_finish();
      return;
    }
    const uint64_t seq = next_seq_++;
    const std::string frame = frame_name(seq, incoming_.request_id());
    Model* model = nullptr;
    yolo::NmsOptions nms;
    // Frames arriving after shutdown began end the stream; frames in flight are still answered.
    grpc::Status s = registry_.calls().accepting() ? validate(registry_, incoming_, context_->deadline(), &model, &nms)
                                                   : shutting_down();
    if (s.ok()) {
      // incoming_ is reused for the next read: the job owns a copy of this frame.
      auto frame_request = std::make_shared<v1::DetectRequest>(incoming_);
      DetectJob job = detect_job(model, *frame_request, nms, context_->deadline());
      job.keep_alive = frame_request;
      job.cancelled = [this] { return context_->IsCancelled(); };
      job.complete = [this, seq](const grpc::Status& status, v1::DetectResponse&& response) {
        completed(seq, status, std::move(response));
      };
      ++in_flight_;
      s = start_detect(std::move(job));
      if (!s.ok()) --in_flight_;
    }
    if (!s.ok()) {
      fail(seq, grpc::Status(s.error_code(), frame + ": " + s.error_message()));
      reads_done_ = true;
      maybe_finish();
      return;
    }
    frames_[seq] = frame;
    if (in_flight_ < kInFlight) StartRead(&incoming_); else read_paused_ = true;
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mutex_);
    ready_.erase(next_write_);
    ++next_write_;
    writing_ = false;
    if (!ok) fail(0, grpc::Status(grpc::StatusCode::CANCELLED, "the client stopped reading"));
    write_next();
    maybe_finish();
  }

  void OnDone() override {
    registry_.metrics().request("", "DetectStream", status_name(error_.error_code()), seconds_since(start_));
    delete this;  // releases call_
  }

 private:
  static constexpr int kInFlight = 4;

  static std::string frame_name(uint64_t seq, const std::string& request_id) {
    return "frame " + std::to_string(seq) + (request_id.empty() ? "" : " (request_id " + quoted(request_id) + ")");
  }

  // The first failing frame decides the stream's status; frames before it are still written.
  void fail(uint64_t seq, const grpc::Status& status) {
    if (error_.ok() || seq < error_seq_) {
      error_ = status;
      error_seq_ = seq;
    }
  }

  void completed(uint64_t seq, const grpc::Status& status, v1::DetectResponse&& response) {
    std::lock_guard<std::mutex> lock(mutex_);
    --in_flight_;
    if (!status.ok()) fail(seq, grpc::Status(status.error_code(), frames_[seq] + ": " + status.error_message()));
    frames_.erase(seq);
    if (status.ok()) ready_[seq] = std::move(response);
    write_next();
    if (read_paused_ && error_.ok()) {
      read_paused_ = false;
      StartRead(&incoming_);
    }
    maybe_finish();
  }

  void write_next() {
    if (writing_ || (!error_.ok() && next_write_ >= error_seq_)) return;
    auto it = ready_.find(next_write_);
    if (it == ready_.end()) return;
    writing_ = true;
    StartWrite(&it->second);
  }

  void maybe_finish() {
    if (finished_ || writing_ || in_flight_ > 0) return;
    if (!reads_done_ && error_.ok()) return;
    const uint64_t last = error_.ok() ? next_seq_ : error_seq_;  // frames that must be written first
    if (next_write_ < last && ready_.count(next_write_)) return;
    finished_ = true;
    Finish(error_);
  }

  ModelRegistry& registry_;
  grpc::CallbackServerContext* context_;
  const Steady::time_point start_;
  std::mutex mutex_;
  v1::DetectRequest incoming_;
  std::map<uint64_t, v1::DetectResponse> ready_;
  std::map<uint64_t, std::string> frames_;  // names of frames in flight, for error messages
  uint64_t error_seq_ = 0;
  uint64_t next_seq_ = 0, next_write_ = 0;
  int in_flight_ = 0;
  bool reads_done_ = false, writing_ = false, finished_ = false, read_paused_ = false;
  grpc::Status error_ = grpc::Status::OK;
  std::shared_ptr<void> call_;  // held until the stream is done
};

void fill_benchmark(const BenchmarkResult& r, const Engine& engine, const std::string& model, v1::BenchmarkResponse* out) {
  out->set_model(model);
  out->set_batch_size(static_cast<int32_t>(r.batch_size));
  out->set_num_streams(r.num_streams);
  out->set_scenario(r.scenario);
  out->set_iterations(r.iterations);
  out->set_seconds_ran(r.seconds_ran);
  out->set_items_per_second(r.items_per_second);
  out->set_ms_per_batch(r.ms_per_batch);
  out->set_batch_times_mean(r.batch_times_mean);
  out->set_batch_times_median(r.batch_times_median);
  out->set_batch_times_std(r.batch_times_std);
  out->set_p50(r.p50);
  out->set_p90(r.p90);
  out->set_p95(r.p95);
  out->set_p99(r.p99);
  out->set_p99_9(r.p99_9);
  fill_engine_description(engine.describe(), out->mutable_engine());
}

}  // namespace

grpc::ServerUnaryReactor* DetectionService::Detect(grpc::CallbackServerContext* context, const v1::DetectRequest* request,
                                                   v1::DetectResponse* response) {
  const auto start = Steady::now();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Model* model = nullptr;
  yolo::NmsOptions nms;
  std::shared_ptr<void> call = registry_.calls().enter();
  grpc::Status s = call ? validate(registry_, *request, context->deadline(), &model, &nms) : shutting_down();
  if (s.ok()) {
    const std::string name = model->name();
    // The request outlives the job: the call ends only when the job completes.
    DetectJob job = detect_job(model, *request, nms, context->deadline());
    job.cancelled = [context] { return context->IsCancelled(); };
    job.complete = [this, reactor, response, name, start, call](const grpc::Status& status, v1::DetectResponse&& result) {
      if (status.ok()) response->Swap(&result);
      finish(registry_, reactor, name, "Detect", start, status);
    };
    s = start_detect(std::move(job));
    if (s.ok()) return reactor;
  }
  finish(registry_, reactor, model ? model->name() : "", "Detect", start, s);
  return reactor;
}

grpc::ServerBidiReactor<v1::DetectRequest, v1::DetectResponse>* DetectionService::DetectStream(
    grpc::CallbackServerContext* context) {
  return new DetectStreamReactor(registry_, context);
}

grpc::ServerUnaryReactor* DetectionService::Benchmark(grpc::CallbackServerContext* context,
                                                      const v1::BenchmarkRequest* request,
                                                      v1::BenchmarkResponse* response) {
  const auto start = Steady::now();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Model* model = nullptr;
  std::shared_ptr<void> call = registry_.calls().enter();
  grpc::Status s = call ? find_model(registry_, request->model(), &model) : shutting_down();
  if (s.ok() && (request->batch_size() < 0 || request->batch_size() > 64 || request->seconds() < 0 ||
                 request->seconds() > 600 || request->iterations() < 0 || request->warmup_seconds() < 0 ||
                 request->warmup_seconds() > 60 || request->num_streams() < 0 || request->num_streams() > 64)) {
    s = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                     "batch_size must be in [0, 64], seconds in [0, 600], warmup_seconds in [0, 60], "
                     "num_streams in [0, 64] and iterations >= 0");
  }
  if (!s.ok()) {
    finish(registry_, reactor, model ? model->name() : "", "Benchmark", start, s);
    return reactor;
  }
  // A benchmark has the model's engines to itself on the batcher thread (Detect calls queue
  // meanwhile), so its figures are the engine's. It stops early when the call is cancelled
  // (deadline, client gone) or the server shuts down, and the call token keeps the shutdown
  // waiting for it.
  auto benchmark = [this, context, reactor, request, response, model, start, call] {
    grpc::Status status = grpc::Status::OK;
    try {
      // The batch size asked for: a served engine if one has it, else one compiled for this run.
      const int64_t batch = request->batch_size() > 0 ? request->batch_size() : model->detector().batch_size();
      std::unique_ptr<Engine> compiled;
      const Engine* engine = &model->engine(batch);
      if (engine->batch_size() != batch) {
        CompileOptions o;
        o.batch_size = batch;
        o.height = o.width = model->config().image_size;
        o.num_cores = model->config().num_cores;
        compiled = std::make_unique<Engine>(Engine::load(model->path(), o));
        engine = compiled.get();
      }
      BenchmarkOptions o;
      o.seconds = request->seconds() > 0 ? request->seconds() : 10;
      o.iterations = request->iterations();
      o.warmup_seconds = request->has_warmup_seconds() ? request->warmup_seconds() : 2;
      o.num_streams = std::max(1, request->num_streams());
      o.scenario = o.num_streams > 1 ? Scenario::kAsync : Scenario::kSync;
      o.should_stop = [this, context] { return context->IsCancelled() || !registry_.calls().accepting(); };
      fill_benchmark(run_benchmark(*engine, o), *engine, model->name(), response);
    } catch (const std::exception& e) {
      status = to_status(e);
    }
    finish(registry_, reactor, model->name(), "Benchmark", start, status);
  };
  if (!model->batcher().run_exclusive(std::move(benchmark))) {
    finish(registry_, reactor, model->name(), "Benchmark", start, shutting_down());
  }
  return reactor;
}

grpc::ServerUnaryReactor* DetectionService::ListModels(grpc::CallbackServerContext* context, const v1::ListModelsRequest*,
                                                       v1::ListModelsResponse* response) {
  const auto start = Steady::now();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (!registry_.ready()) {
    finish(registry_, reactor, "", "ListModels", start, {grpc::StatusCode::UNAVAILABLE, "models are still loading"});
    return reactor;
  }
  for (Model* model : registry_.models()) fill_model_info(*model, response->add_models());
  finish(registry_, reactor, "", "ListModels", start, grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* DetectionService::GetModel(grpc::CallbackServerContext* context, const v1::GetModelRequest* request,
                                                     v1::ModelInfo* response) {
  const auto start = Steady::now();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Model* model = nullptr;
  grpc::Status s = find_model(registry_, request->name(), &model);
  if (s.ok()) fill_model_info(*model, response);
  finish(registry_, reactor, model ? model->name() : "", "GetModel", start, s);
  return reactor;
}

}  // namespace sparrow::server
