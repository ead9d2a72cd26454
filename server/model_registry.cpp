#include "model_registry.h"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <thread>

namespace sparrow::server {

namespace {

// A lane per core the models may use: the largest team any model runs on.
int inference_lanes(const ServerConfig& config) {
  int lanes = 1;
  for (const ModelConfig& m : config.models) lanes = std::max(lanes, m.num_cores > 0 ? m.num_cores : available_cores());
  return lanes;
}

}  // namespace

ModelRegistry::ModelRegistry(const ServerConfig& config, Metrics* metrics)
    : config_(config), metrics_(metrics), inference_(inference_lanes(config_)) {}

// Compiling and warming up start OpenMP regions, and libgomp would keep the calling thread's
// pool of threads next to lane 0's for good (see inference_threads.h); a thread
// that ends takes its pool with it.
void ModelRegistry::load() {
  std::exception_ptr error;
  std::thread([&] {
    try {
      load_models();
    } catch (...) {
      error = std::current_exception();
    }
  }).join();
  if (error) std::rethrow_exception(error);
  ready_ = true;
}

void ModelRegistry::load_models() {
  for (const ModelConfig& m : config_.models) {
    auto model = std::make_unique<Model>(m, yolo::DecodeOptions{config_.max_pixels}, metrics_, inference_);
    model->warm_up(inference_.lanes());
    std::fprintf(stderr, "sparrow-server: model '%s' ready (%s, batch sizes up to %d)\n", m.name.c_str(),
                 model->path().c_str(), m.max_batch_size);
    if (const std::string w = reference_layers_warning(model->detector().engine().describe()); !w.empty()) {
      std::fprintf(stderr, "sparrow-server: warning: model '%s': %s\n", m.name.c_str(), w.c_str());
    }
    models_[m.name] = std::move(model);
  }
}

Model* ModelRegistry::find(const std::string& name) {
  if (!ready_) return nullptr;
  auto it = models_.find(name.empty() ? default_name() : name);
  return it == models_.end() ? nullptr : it->second.get();
}

std::vector<Model*> ModelRegistry::models() {
  std::vector<Model*> out;
  if (!ready_) return out;
  for (auto& [name, model] : models_) out.push_back(model.get());
  return out;
}

void ModelRegistry::drain() {
  for (auto& [name, model] : models_) model->batcher().drain();
  inference_.stop();
}

}  // namespace sparrow::server
