#include "model_registry.h"

#include <cstdio>
#include <exception>
#include <thread>

namespace sparrow::server {

ModelRegistry::ModelRegistry(const ServerConfig& config, Metrics* metrics) : config_(config), metrics_(metrics) {}

// Compiling and warming up start OpenMP regions, and libgomp would keep the calling thread's
// pool of threads next to the inference thread's for good (see inference_thread.h); a thread
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
    model->warm_up();
    std::fprintf(stderr, "sparrow-server: model '%s' ready (%s, batch sizes up to %d)\n", m.name.c_str(),
                 model->path().c_str(), m.max_batch_size);
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
