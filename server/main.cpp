// sparrow-server: serves YOLOv5 detection over gRPC (sparrow.v1.Detection and the KServe v2
// inference protocol), with health checks, reflection and Prometheus metrics.
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <opencv2/core.hpp>
#include <cstdio>
#include <functional>
#include <utility>
#include <vector>
#include <thread>

#include "server.h"
#include "sparrow/error.h"

namespace {

using sparrow::server::ModelConfig;
using sparrow::server::ServerConfig;

struct Flags {
  std::string config_file;
  ServerConfig server;
  ModelConfig model;  // the single model when no config file is given
};

void add_flags(CLI::App& app, Flags& f) {
  app.add_option("-c,--config", f.config_file, "YAML file with server settings and several models")->envname("SPARROW_CONFIG");
  app.add_option("--host", f.server.host, "Address to listen on, or a Unix socket: unix:PATH (then --port is unused)")->envname("SPARROW_HOST")->capture_default_str();
  app.add_option("-p,--port", f.server.port, "gRPC port (0: any free port)")->envname("SPARROW_PORT")->capture_default_str();
  app.add_option("--metrics-port", f.server.metrics_port, "Prometheus /metrics HTTP port (0: off, -1: any free port)")
      ->envname("SPARROW_METRICS_PORT")
      ->capture_default_str();
  app.add_option("--max-message-bytes", f.server.max_receive_message_bytes, "Largest request accepted")
      ->envname("SPARROW_MAX_MESSAGE_BYTES")
      ->capture_default_str();
  app.add_option("--shutdown-timeout", f.server.shutdown_timeout_seconds, "Seconds to drain calls on SIGTERM")
      ->envname("SPARROW_SHUTDOWN_TIMEOUT")
      ->capture_default_str();
  app.add_option("--max-connection-idle", f.server.max_connection_idle_seconds,
                 "Seconds a connection without calls stays open")
      ->envname("SPARROW_MAX_CONNECTION_IDLE")
      ->capture_default_str();
  app.add_option("--max-pixels", f.server.max_pixels, "Largest image accepted, in pixels")
      ->envname("SPARROW_MAX_PIXELS")
      ->capture_default_str();
  app.add_option("--tls-cert", f.server.tls_cert, "PEM certificate chain: enables TLS")->envname("SPARROW_TLS_CERT");
  app.add_option("--tls-key", f.server.tls_key, "PEM private key")->envname("SPARROW_TLS_KEY");
  app.add_option("--tls-client-ca", f.server.tls_client_ca, "PEM CA of client certificates: enables mutual TLS")
      ->envname("SPARROW_TLS_CLIENT_CA");
  app.add_flag("--allow-shared-memory", f.server.allow_shared_memory,
               "Let clients on this host send tensors through POSIX shared memory (Triton's system-shared-memory "
               "extension)")
      ->envname("SPARROW_ALLOW_SHARED_MEMORY");
  app.add_option("--max-benchmark-seconds", f.server.max_benchmark_seconds,
                 "Longest Benchmark RPC, warm-up included (0: the RPC is off)")
      ->envname("SPARROW_MAX_BENCHMARK_SECONDS")
      ->capture_default_str();

  app.add_option("-m,--model", f.model.path, "ONNX model (default: $SPARROW_MODEL or ../shared/models/yolov5n.onnx)")
      ->envname("SPARROW_MODEL");
  app.add_option("--model-name", f.model.name, "Name clients use for the model")->envname("SPARROW_MODEL_NAME")->capture_default_str();
  app.add_option("-b,--max-batch-size", f.model.max_batch_size, "Largest batch the batcher forms")
      ->envname("SPARROW_MAX_BATCH_SIZE")
      ->capture_default_str();
  app.add_option("--max-queue-delay-us", f.model.max_queue_delay_us, "Longest wait for a fuller batch")
      ->envname("SPARROW_MAX_QUEUE_DELAY_US")
      ->capture_default_str();
  app.add_option("--queue-capacity", f.model.queue_capacity, "Images queued before RESOURCE_EXHAUSTED")
      ->envname("SPARROW_QUEUE_CAPACITY")
      ->capture_default_str();
  app.add_option("--num-cores", f.model.num_cores, "Threads per inference (0: the cores this container may use)")
      ->envname("SPARROW_NUM_CORES");
  app.add_option("--image-size", f.model.image_size, "Input size for models with dynamic axes (default 640)")->envname("SPARROW_IMAGE_SIZE");
  app.add_option("--conf", f.model.conf_threshold, "Default confidence threshold")->capture_default_str();
  app.add_option("--iou", f.model.iou_threshold, "Default NMS IoU threshold")->capture_default_str();
  app.add_option("--max-det", f.model.max_det, "Default maximum detections per image")->capture_default_str();
}

// Flags win over the file's server settings only where given; the file's models replace the
// single-model flags.
ServerConfig resolve(const CLI::App& app, const Flags& f) {
  if (f.config_file.empty()) {
    ServerConfig c = f.server;
    c.models = {f.model};
    return c;
  }
  ServerConfig c = sparrow::server::load_server_config(f.config_file);
  const ServerConfig& given_flags = f.server;
  const std::vector<std::pair<const char*, std::function<void()>>> server_flags = {
      {"--host", [&] { c.host = given_flags.host; }},
      {"--port", [&] { c.port = given_flags.port; }},
      {"--metrics-port", [&] { c.metrics_port = given_flags.metrics_port; }},
      {"--max-message-bytes", [&] { c.max_receive_message_bytes = given_flags.max_receive_message_bytes; }},
      {"--shutdown-timeout", [&] { c.shutdown_timeout_seconds = given_flags.shutdown_timeout_seconds; }},
      {"--max-connection-idle", [&] { c.max_connection_idle_seconds = given_flags.max_connection_idle_seconds; }},
      {"--max-pixels", [&] { c.max_pixels = given_flags.max_pixels; }},
      {"--tls-cert", [&] { c.tls_cert = given_flags.tls_cert; }},
      {"--tls-key", [&] { c.tls_key = given_flags.tls_key; }},
      {"--tls-client-ca", [&] { c.tls_client_ca = given_flags.tls_client_ca; }},
      {"--allow-shared-memory", [&] { c.allow_shared_memory = given_flags.allow_shared_memory; }},
      {"--max-benchmark-seconds", [&] { c.max_benchmark_seconds = given_flags.max_benchmark_seconds; }},
  };
  for (const auto& [name, apply] : server_flags) {
    if (app.count(name) > 0) apply();
  }
  return c;
}

// Every client connection, gRPC or metrics, holds a descriptor, and many systems start processes
// with a soft limit of 1024, far below the hard limit; as most servers do, take the hard limit.
void raise_open_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Images are decoded in parallel across a batch on the engine's OpenMP threads; OpenCV's own
  // (TBB) thread pool would only compete with them for the same cores.
  cv::setNumThreads(1);
  CLI::App app{"sparrow-server: YOLOv5 detection over gRPC", "sparrow-server"};
  Flags flags;
  add_flags(app, flags);
  CLI11_PARSE(app, argc, argv);
  raise_open_file_limit();

  // SIGTERM and SIGINT are taken by one thread that starts the graceful shutdown; every other
  // thread (created after this) has them blocked.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  try {
    sparrow::server::Server server(resolve(app, flags));
    std::thread signal_thread([&] {
      int received = 0;
      sigwait(&signals, &received);
      std::fprintf(stderr, "sparrow-server: received %s\n", received == SIGTERM ? "SIGTERM" : "SIGINT");
      server.shutdown();
    });
    signal_thread.detach();
    server.start();
    server.wait();
  } catch (const sparrow::Error& e) {
    std::fprintf(stderr, "sparrow-server: %s: %s\n", sparrow::error_code_name(e.code()), e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sparrow-server: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
