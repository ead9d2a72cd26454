#include "model.h"

#include "sparrow/error.h"
#include "sparrow/yolo/default_files.h"

namespace sparrow::server {
namespace {

// Engines for 1, 2, 4, ... and the largest batch: a few requests never wait for, or pay for, a
// full batch.
std::vector<int> batch_sizes_up_to(int max) {
  std::vector<int> sizes;
  for (int b = 1; b < max; b *= 2) sizes.push_back(b);
  sizes.push_back(max);
  return sizes;
}

}  // namespace

Model::Model(const ModelConfig& config, const yolo::DecodeOptions& decode, Metrics* metrics, InferenceThreads& threads)
    : config_(config), path_(config.path.empty() ? yolo::default_model_path() : config.path) {
  std::vector<std::shared_ptr<const Engine>> engines;
  for (int batch : batch_sizes_up_to(config.max_batch_size)) {
    yolo::DetectorOptions o;
    o.compile.batch_size = batch;
    o.compile.height = o.compile.width = config.image_size;
    o.compile.num_cores = config.num_cores;
    o.nms = default_nms();
    o.decode = decode;
    detectors_.push_back(std::make_unique<yolo::Detector>(path_, o));
    if (detectors_.back()->takes_bytes()) {
      throw Error(ErrorCode::kUnsupported, "'" + path_ +
                                               "': the server runs models with a float32 image input; this one takes uint8 "
                                               "(sparrow detect and eval run it)");
    }
    // The batcher shares the detector's engine; the detector outlives the batcher.
    engines.emplace_back(std::shared_ptr<const Engine>(), &detectors_.back()->engine());
  }
  BatcherOptions b;
  b.max_queue_delay = std::chrono::microseconds(config.max_queue_delay_us);
  b.capacity = static_cast<size_t>(config.queue_capacity);
  batcher_ = std::make_unique<DynamicBatcher>(config.name, std::move(engines), b, metrics, threads);
}

std::vector<int> Model::batch_sizes() const {
  std::vector<int> sizes;
  for (const auto& d : detectors_) sizes.push_back(static_cast<int>(d->batch_size()));
  return sizes;
}

yolo::NmsOptions Model::default_nms() const {
  yolo::NmsOptions o;
  o.conf_threshold = config_.conf_threshold;
  o.iou_threshold = config_.iou_threshold;
  o.max_det = config_.max_det;
  return o;
}

const Engine& Model::engine(int64_t batch_size) const {
  for (const auto& d : detectors_) {
    if (d->batch_size() == batch_size) return d->engine();
  }
  return detectors_.back()->engine();
}

void Model::warm_up(int lanes) {
  for (const auto& d : detectors_) {
    const TensorSpec& spec = d->engine().inputs()[0];
    d->engine().run({Tensor(spec.dtype, spec.shape)});
    d->engine().reserve_concurrent_runs(lanes);
  }
  ready_ = true;
}

}  // namespace sparrow::server
