#include "model_registry.h"

#include <cstdio>


namespace sparrow::server {

ModelRegistry::ModelRegistry(const ServerConfig& config, Metrics* metrics) : config_(config), metrics_(metrics) {}

void ModelRegistry::load() {
  for (const ModelConfig& m : config_.models) {
    auto model = std::make_unique<Model>(m, yolo::DecodeOptions{config_.max_pixels}, metrics_);
    model->warm_up();
    std::fprintf(stderr, "sparrow-server: model '%s' ready (%s, batch sizes up to %d)\n", m.name.c_str(),
                 model->path().c_str(), m.max_batch_size);
    models_[m.name] = std::move(model);
  }
  ready_ = true;
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
}

}  // namespace sparrow::server
