// sparrow-client health: the grpc.health.v1 Check, once or polled until SERVING (for container
// HEALTHCHECKs and scripts). Exits 0 only when the answer is SERVING.
#include <grpcpp/client_context.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include "commands.h"
#include "connection.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "rpc_error.h"

namespace sparrow::client {
namespace {

using Clock = std::chrono::steady_clock;
using grpc::health::v1::HealthCheckResponse;

struct HealthArgs {
  std::string service;  // empty: the server as a whole
  double wait_seconds = 0;
};

constexpr double kCheckTimeoutSeconds = 10;
constexpr auto kPollInterval = std::chrono::milliseconds(250);

struct Answer {
  grpc::Status status;
  HealthCheckResponse::ServingStatus serving = HealthCheckResponse::UNKNOWN;
};

Answer check_once(grpc::health::v1::Health::Stub& stub, const std::string& service, double seconds) {
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::ClientContext context;
  context.set_deadline(deadline_after(seconds));
  HealthCheckResponse response;
  Answer a;
  a.status = stub.Check(&context, request, &response);
  a.serving = response.status();
  return a;
}

void run(const HealthArgs& args, const Connection& connection) {
  auto stub = grpc::health::v1::Health::NewStub(connection.channel());
  const double per_check = connection.timeout_or(kCheckTimeoutSeconds);
  const auto end = Clock::now() + std::chrono::microseconds(static_cast<int64_t>(args.wait_seconds * 1e6));
  Answer a;
  for (;;) {
    const double left = std::chrono::duration<double>(end - Clock::now()).count();
    a = check_once(*stub, args.service, args.wait_seconds > 0 ? std::max(0.05, std::min(left, per_check)) : per_check);
    if ((a.status.ok() && a.serving == HealthCheckResponse::SERVING) || Clock::now() + kPollInterval >= end) break;
    std::this_thread::sleep_for(kPollInterval);
  }
  const std::string what = args.wait_seconds > 0 ? "health of " + connection.server + " (waited " +
                                                       std::to_string(static_cast<int>(args.wait_seconds)) + " s)"
                                                 : "health of " + connection.server;
  check(a.status, what);
  std::printf("%s\n", HealthCheckResponse::ServingStatus_Name(a.serving).c_str());
  if (a.serving != HealthCheckResponse::SERVING) throw CLI::RuntimeError(1);
}

}  // namespace

void add_health_command(CLI::App& app, const Connection& connection) {
  auto args = std::make_shared<HealthArgs>();
  CLI::App* cmd = app.add_subcommand("health", "Ask the server's health service: prints SERVING, NOT_SERVING or UNKNOWN");
  cmd->add_option("--service", args->service, "Service to ask about (e.g. sparrow.v1.Detection; default: the server)");
  cmd->add_option("--wait", args->wait_seconds, "Poll until SERVING for up to this many seconds")
      ->check(CLI::Range(0.0, 86400.0));
  cmd->callback([args, &connection] { run(*args, connection); });
}

}  // namespace sparrow::client
