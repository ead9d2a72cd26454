// The gRPC server's lifecycle: listen (health NOT_SERVING), load and warm up the models
// (SERVING), and on shutdown stop accepting, drain, and stop.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>

#include <grpcpp/server.h>

#include "metrics.h"
#include "model_registry.h"
#include "server_config.h"

namespace sparrow::server {

class DetectionService;
class KServeService;

class Server {
 public:
  explicit Server(ServerConfig config);
  ~Server();

  // Starts listening (health answers NOT_SERVING), then loads and warms up every model and
  // switches health to SERVING. Throws sparrow::Error if a port or model fails.
  void start();
  // Blocks until shutdown() has finished.
  void wait();
  // Health NOT_SERVING, no new calls, calls in flight answered (up to the shutdown timeout),
  // batchers drained. Safe to call from any thread, more than once.
  void shutdown();

  int port() const { return port_; }
  int metrics_port() const { return metrics_.bound_port(); }

 private:
  void set_serving(bool serving);

  ServerConfig config_;
  Metrics metrics_;
  ModelRegistry registry_;
  std::unique_ptr<DetectionService> detection_;
  std::unique_ptr<KServeService> kserve_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::mutex mutex_;
  std::condition_variable stopped_;
  bool stopping_ = false, stopped_flag_ = false;
};

}  // namespace sparrow::server
