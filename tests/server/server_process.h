// Runs a real sparrow-server as a child process on loopback for tests: ports parsed from its
// log, health polled, SIGTERM and exit status observed.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/channel.h>

namespace sparrow::test {

class ServerProcess {
 public:
  // Starts sparrow-server with `--port 0 --metrics-port -1` plus `args`; returns once it listens.
  explicit ServerProcess(const std::vector<std::string>& args);
  ~ServerProcess();  // SIGKILL if still running
  // Runs sparrow-server with exactly `args` until it exits; returns its exit status (-1 if it
  // still ran after `timeout`, then SIGKILL) and sets *log to what it wrote to stderr.
  static int run(const std::vector<std::string>& args, std::chrono::seconds timeout, std::string* log);

  // Where gRPC listens: 127.0.0.1:port, or the unix: socket it logged.
  const std::string& address() const { return address_; }
  int port() const { return port_; }
  int metrics_port() const { return metrics_port_; }
  std::shared_ptr<grpc::Channel> channel(int max_message_bytes = 64 << 20) const;

  // grpc.health.v1 Check of the overall status: "SERVING", "NOT_SERVING", or the error.
  std::string health() const;
  bool wait_serving(std::chrono::seconds timeout) const;
  // The /metrics text ("" if not answered within `timeout`), and one sample's value (sum over
  // label sets containing `label_filter`).
  std::string metrics(std::chrono::seconds timeout = std::chrono::seconds(60)) const;
  double metric(const std::string& name, const std::string& label_filter = "") const;

  // Sends SIGTERM and waits; returns the exit status (-1 on timeout, after SIGKILL).
  int terminate(std::chrono::seconds timeout);
  // Everything the server wrote to stderr so far.
  std::string log() const;

 private:
  ServerProcess() = default;
  void read_log_until(const std::string& marker, std::chrono::seconds timeout);

  pid_t pid_ = -1;
  int log_fd_ = -1;
  mutable std::string log_;
  std::string address_;
  int port_ = 0, metrics_port_ = 0;
};

}  // namespace sparrow::test
