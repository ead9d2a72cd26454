// A served model: its detector (pre- and post-processing), one engine per batch size for the
// batcher, and its defaults.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "dynamic_batcher.h"
#include "server_config.h"
#include "sparrow/yolo/detector.h"

namespace sparrow::server {

class InferenceThreads;
class Metrics;

class Model {
 public:
  // Compiles the engines; throws sparrow::Error if the model cannot be served. `threads` run
  // its batches.
  Model(const ModelConfig& config, const yolo::DecodeOptions& decode, Metrics* metrics, InferenceThreads& threads);

  const std::string& name() const { return config_.name; }
  const ModelConfig& config() const { return config_; }
  const std::string& path() const { return path_; }
  const yolo::Detector& detector() const { return *detectors_.back(); }
  DynamicBatcher& batcher() { return *batcher_; }
  std::vector<int> batch_sizes() const;
  yolo::NmsOptions default_nms() const;
  const Engine& engine(int64_t batch_size) const;  // the one compiled for that batch (largest if none)

  // Runs every engine once so that the first request does not pay for page faults, and has it
  // allocate the working memory of as many concurrent runs as there are inference lanes.
  void warm_up(int lanes);
  bool ready() const { return ready_; }

 private:
  ModelConfig config_;
  std::string path_;
  std::vector<std::unique_ptr<yolo::Detector>> detectors_;  // increasing batch sizes
  std::unique_ptr<DynamicBatcher> batcher_;
  std::atomic<bool> ready_{false};
};

}  // namespace sparrow::server
