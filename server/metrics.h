// Sparrow's server metrics (names after Triton's where they mean the same) and the HTTP endpoint
// that serves them at /metrics.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "metrics_endpoint.h"
#include "prometheus.h"

namespace sparrow::server {

class Metrics {
 public:
  Metrics();
  ~Metrics();

  // One finished RPC: its gRPC status code name ("OK", "INVALID_ARGUMENT", ...) and duration.
  void request(const std::string& model, const std::string& method, const std::string& status, double seconds);
  // One image or tensor through the batcher.
  void item(const std::string& model, double queue_seconds, double end_to_end_seconds);
  // single_thread: the engine ran the batch on one thread (see Engine::single_thread_runs()).
  void batch(const std::string& model, int items, double inference_seconds, bool single_thread);
  void queue_depth(const std::string& model, size_t depth);

  std::string render() const;

  // Serves render() at http://host:port/metrics on a background thread. Port 0 does nothing,
  // a negative port picks a free one (see bound_port()).
  void serve(const std::string& host, int port);
  void stop_serving();
  int bound_port() const { return endpoint_ ? endpoint_->port() : 0; }

 private:
  double items_per_second(const std::string& model) const;

  // Mutable: rendering refreshes the gauges that are computed, not counted.
  mutable PrometheusRegistry registry_;
  mutable std::mutex window_mutex_;
  // (time, model, items) of recent batches, for the items/sec gauge over the last seconds.
  mutable std::deque<std::tuple<std::chrono::steady_clock::time_point, std::string, int>> window_;
  std::unique_ptr<MetricsEndpoint> endpoint_;
};

}  // namespace sparrow::server
