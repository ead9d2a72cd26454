// Flags every subcommand shares (server address, model, deadline, TLS) and the channel they make.
#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <chrono>
#include <memory>
#include <string>

namespace CLI {
class App;
}

namespace sparrow::client {

struct Connection {
  std::string server = "localhost:8001";
  std::string model;             // empty: the server's default model
  double timeout_seconds = 0;    // 0: not given, each command picks its default
  bool tls = false;
  std::string ca, cert, key;

  void add_to(CLI::App& app);
  // Throws sparrow::Error for an unusable address or TLS file.
  std::shared_ptr<grpc::Channel> channel() const;
  // The deadline is --timeout when given, else `default_seconds` (0: no deadline).
  void set_deadline(grpc::ClientContext& context, double default_seconds) const;
  // Seconds a call may take: --timeout when given, else `default_seconds`.
  double timeout_or(double default_seconds) const { return timeout_seconds > 0 ? timeout_seconds : default_seconds; }
};

// The wall-clock deadline `seconds` from now.
std::chrono::system_clock::time_point deadline_after(double seconds);

// Deadline used for short calls (detect, models, health) when --timeout is not given.
inline constexpr double kDefaultTimeoutSeconds = 30;

}  // namespace sparrow::client
