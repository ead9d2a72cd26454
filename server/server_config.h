// Server and model settings: from flags and environment variables for the single-model case, or
// from a YAML file listing several models.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sparrow::server {

struct ModelConfig {
  std::string name = "yolov5n";
  std::string path;             // empty: the default model ($SPARROW_MODEL, ../shared/models/yolov5n.onnx)
  int max_batch_size = 8;       // engines are compiled for 1, 2, 4, ... up to this
  int image_size = 0;           // height and width for models with dynamic axes; 0: 640 (the engine's default)
  int num_cores = 0;            // threads per engine run; 0: the cores available (cgroup-aware)
  float conf_threshold = 0.25f; // defaults for requests that set none
  float iou_threshold = 0.45f;
  int max_det = 300;
  int64_t max_queue_delay_us = 2000;  // how long the first queued image may wait for a fuller batch
  int queue_capacity = 64;            // images queued or being pre-processed; more are refused
};

struct ServerConfig {
  // An IP address or name, or a Unix socket as gRPC spells it (unix:PATH, unix-abstract:NAME),
  // which takes no port.
  std::string host = "0.0.0.0";
  int port = 8001;                     // gRPC (Triton's default)
  int metrics_port = 8002;             // Prometheus /metrics over HTTP; 0 disables, -1 picks a free port
  int64_t max_receive_message_bytes = 64 << 20;
  double shutdown_timeout_seconds = 30;
  // A connection with no call in flight for this long is closed (gRPC's MAX_CONNECTION_IDLE).
  double max_connection_idle_seconds = 300;
  int64_t max_pixels = 64 * 1000 * 1000;  // largest image accepted
  std::string tls_cert, tls_key;          // both set: TLS
  std::string tls_client_ca;              // set too: mutual TLS, clients must present a certificate
  // Triton's system-shared-memory extension: off by default because a client that can reach the
  // port could otherwise have the server read any shared memory object its user can open.
  bool allow_shared_memory = false;
  // Longest Benchmark RPC (warm-up included); 0 turns the RPC off. It pauses for requests, but it
  // still spends the cores in between, so the operator bounds it.
  double max_benchmark_seconds = 60;
  std::vector<ModelConfig> models;

  // Checks ranges and combinations; throws sparrow::Error naming the setting.
  void validate() const;
  bool unix_socket() const;
  // The file of a unix:PATH (or unix://PATH) socket; empty for TCP and abstract sockets.
  std::string socket_path() const;
  // What gRPC listens on: host:port, or the Unix socket (which has no port).
  std::string grpc_address(int bound_port) const;
  // The metrics endpoint is HTTP over TCP: on the gRPC host, or 127.0.0.1 when that is a socket.
  std::string metrics_host() const;
};

// Reads a YAML file:
//   server: {port: 8001, metrics_port: 8002, ...}
//   models: [{name: yolov5n, path: ..., max_batch_size: 8, ...}, ...]
// Keys not known are an error (a typo must not be ignored silently).
ServerConfig load_server_config(const std::string& path);

}  // namespace sparrow::server
