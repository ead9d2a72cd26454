// The models a server serves, looked up by name (empty: the default, the first configured), and
// the shared pieces their requests use.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "call_tracker.h"
#include "inference_threads.h"
#include "metrics.h"
#include "model.h"
#include "server_config.h"

namespace sparrow::server {

class ModelRegistry {
 public:
  ModelRegistry(const ServerConfig& config, Metrics* metrics);

  // Compiles and warms up every model; until this returns, ready() is false.
  void load();
  bool ready() const { return ready_; }
  // nullptr when no model has that name (or models are still loading).
  Model* find(const std::string& name);
  std::vector<Model*> models();
  const std::string& default_name() const { return config_.models.front().name; }

  CallTracker& calls() { return calls_; }
  InferenceThreads& inference() { return inference_; }
  Metrics& metrics() { return *metrics_; }
  const ServerConfig& config() const { return config_; }
  // Stops accepting work, lets every batcher finish what it queued, and ends the inference threads.
  void drain();

 private:
  void load_models();

  const ServerConfig config_;
  Metrics* const metrics_;
  InferenceThreads inference_;  // outlives the models' batchers
  std::map<std::string, std::unique_ptr<Model>> models_;
  CallTracker calls_;
  std::atomic<bool> ready_{false};
};

}  // namespace sparrow::server
