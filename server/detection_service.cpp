#include "detection_service.h"

#include <chrono>
#include <deque>
#include <map>
#include <mutex>

#include "benchmark_request.h"
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

// DetectStream: each request is one job, answered in request order; a frame that fails is
// answered with its error and the stream goes on. At most kInFlight frames are unanswered per
// stream (more wait in the client's send window), so a client that sends without reading holds
// a bounded number of answers. The stream ends with an error only when it cannot go on: the
// server shutting down (frames already taken are answered first) or the client not reading.
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
    if (ok && error_.ok() && !registry_.calls().accepting()) error_ = shutting_down();
    if (!ok || !error_.ok()) {
      reads_done_ = true;
      maybe_finish();
      return;
    }
    start_frame(next_seq_++);
    if (unanswered() < kInFlight) StartRead(&incoming_); else read_paused_ = true;
    write_next();
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mutex_);
    writing_ = false;
    if (!ok) {
      write_failed_ = true;
      if (error_.ok()) error_ = grpc::Status(grpc::StatusCode::CANCELLED, "the client stopped reading");
      maybe_finish();
      return;
    }
    ready_.erase(next_write_++);
    if (read_paused_ && error_.ok() && unanswered() < kInFlight) {
      read_paused_ = false;
      StartRead(&incoming_);
    }
    write_next();
    maybe_finish();
  }

  void OnDone() override {
    {
      // A batcher thread may still be leaving completed(), whose Finish led here.
      std::lock_guard<std::mutex> lock(mutex_);
      registry_.metrics().request("", "DetectStream", status_name(error_.error_code()), seconds_since(start_));
    }
    delete this;  // releases call_
  }

 private:
  static constexpr uint64_t kInFlight = 4;

  static std::string frame_name(uint64_t seq, const std::string& request_id) {
    return "frame " + std::to_string(seq) + (request_id.empty() ? "" : " (request_id " + quoted(request_id) + ")");
  }

  // Turns a frame's answer into its error, naming the frame.
  static void set_error(uint64_t seq, const grpc::Status& status, v1::DetectResponse& response) {
    response.clear_results();
    response.mutable_error()->set_code(static_cast<int32_t>(status.error_code()));
    response.mutable_error()->set_message(frame_name(seq, response.request_id()) + ": " + status.error_message());
  }

  uint64_t unanswered() const { return next_seq_ - next_write_; }

  // Validates incoming_ and queues its job, or makes its error answer at once.
  void start_frame(uint64_t seq) {
    Model* model = nullptr;
    yolo::NmsOptions nms;
    grpc::Status s = validate(registry_, incoming_, context_->deadline(), &model, &nms);
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
      if (s.ok()) return;
      --in_flight_;
    }
    v1::DetectResponse& response = ready_[seq];
    if (model) response.set_model(model->name());
    response.set_request_id(incoming_.request_id());
    set_error(seq, s, response);
  }

  void completed(uint64_t seq, const grpc::Status& status, v1::DetectResponse&& response) {
    std::lock_guard<std::mutex> lock(mutex_);
    --in_flight_;
    if (!status.ok()) set_error(seq, status, response);
    ready_[seq] = std::move(response);
    write_next();
    maybe_finish();
  }

  void write_next() {
    if (writing_ || write_failed_) return;
    auto it = ready_.find(next_write_);
    if (it == ready_.end()) return;
    writing_ = true;
    StartWrite(&it->second);
  }

  // Once nothing is in flight: after every frame is answered, or at once when answers can no
  // longer be written.
  void maybe_finish() {
    if (finished_ || writing_ || in_flight_ > 0) return;
    if (error_.ok() && !reads_done_) return;
    if (!write_failed_ && unanswered() > 0) return;
    finished_ = true;
    Finish(error_);
  }

  ModelRegistry& registry_;
  grpc::CallbackServerContext* context_;
  const Steady::time_point start_;
  std::mutex mutex_;
  v1::DetectRequest incoming_;
  std::map<uint64_t, v1::DetectResponse> ready_;  // answers not written yet, by frame
  uint64_t next_seq_ = 0, next_write_ = 0;
  int in_flight_ = 0;
  bool reads_done_ = false, writing_ = false, write_failed_ = false, finished_ = false, read_paused_ = false;
  grpc::Status error_ = grpc::Status::OK;  // the stream's own status
  std::shared_ptr<void> call_;  // held until the stream is done
};

// A served engine if one has the batch size asked for (0: the model's), else one compiled for the
// run; streams split the cores, so more than one needs its own engine too.
const Engine& benchmark_engine(const Model& model, int64_t batch_size, int streams, std::unique_ptr<Engine>* compiled) {
  const int64_t batch = batch_size > 0 ? batch_size : model.detector().batch_size();
  const Engine& served = model.engine(batch);
  if (served.batch_size() == batch && streams == 1) return served;
  CompileOptions o;
  o.batch_size = batch;
  o.height = o.width = model.config().image_size;
  o.num_cores = std::max(1, served.num_cores() / streams);
  *compiled = std::make_unique<Engine>(Engine::load(model.path(), o));
  return **compiled;
}

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
  out->set_single_thread_iterations(r.single_thread_iterations);
  out->set_seconds_paused(r.seconds_paused);
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
  BenchmarkOptions options;
  if (s.ok()) s = benchmark_options(*request, registry_.config().max_benchmark_seconds, &options);
  if (!s.ok()) {
    finish(registry_, reactor, model ? model->name() : "", "Benchmark", start, s);
    return reactor;
  }
  // The benchmark runs as a task on inference lane 0, pausing between its batches whenever
  // a batch of any model is due, so serving goes on. It stops early when the call is cancelled
  // (deadline, client gone) or the server shuts down, and the call token keeps the shutdown
  // waiting for it.
  InferenceThreads& inference = registry_.inference();
  options.should_stop = [this, context] { return context->IsCancelled() || !registry_.calls().accepting(); };
  options.other_work_waiting = [&inference] { return inference.batch_due(); };
  options.do_other_work = [&inference] { inference.run_due_batches(); };
  auto benchmark = [this, reactor, request, response, model, start, call, options] {
    grpc::Status status = grpc::Status::OK;
    try {
      std::unique_ptr<Engine> compiled;
      const Engine& engine = benchmark_engine(*model, request->batch_size(), options.num_streams, &compiled);
      fill_benchmark(run_benchmark(engine, options), engine, model->name(), response);
    } catch (const std::exception& e) {
      status = to_status(e);
    }
    finish(registry_, reactor, model->name(), "Benchmark", start, status);
  };
  if (!inference.run_task(std::move(benchmark))) {
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
