#include "server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "detection_service.h"
#include "kserve_service.h"
#include "sparrow/error.h"

namespace sparrow::server {
namespace {

std::string read_file(const std::string& path, const char* what) {
  std::ifstream f(path);
  if (!f) throw Error(ErrorCode::kNotFound, std::string(what) + " '" + path + "' cannot be read");
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::shared_ptr<grpc::ServerCredentials> credentials(const ServerConfig& c) {
  if (c.tls_cert.empty()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions ssl(c.tls_client_ca.empty()
                                            ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                            : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  ssl.pem_key_cert_pairs.push_back({read_file(c.tls_key, "TLS key"), read_file(c.tls_cert, "TLS certificate")});
  if (!c.tls_client_ca.empty()) ssl.pem_root_certs = read_file(c.tls_client_ca, "TLS client CA");
  return grpc::SslServerCredentials(ssl);
}

// Server-side connection management after gRPC's proposal A9 and its keepalive guide; gRPC's own
// defaults keep every connection, even one that never makes a call, for ever.
// - Idle: a connection without a call in flight for max_connection_idle (5 min by default) gets
//   GOAWAY and is closed. A call in flight, however long (a stream, a Benchmark), keeps it open;
//   a client's channel reconnects on its next call.
// - Age: after 10 min (gRPC adds +-10 % jitter) a connection gets GOAWAY, so clients of the
//   headless Kubernetes Service resolve DNS again and reach pods added since. Its calls in
//   flight finish: the grace period is left unlimited (gRPC's default), so no stream is cut.
// - Keepalive: after 1 min without traffic the server pings, with or without calls, and closes
//   the connection if no answer comes in 20 s (a peer that vanished). Pings go on during long
//   silent calls (no limit on pings without data).
// - Client pings: accepted every 10 s at most, so clients may keep their own keepalive at 10 s
//   or more; a client pinging faster (a ping flood) gets GOAWAY at the third such ping.
void manage_connections(grpc::ServerBuilder& builder, const ServerConfig& c) {
  const auto idle_ms = static_cast<int>(std::llround(c.max_connection_idle_seconds * 1000));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, idle_ms);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, 10 * 60 * 1000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60 * 1000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20 * 1000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10 * 1000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 2);
}

// gRPC replaces any socket file at the path it listens on, so a second server would silently
// take the socket over from a running one. A file nobody accepts on (ECONNREFUSED) was left by a
// server that died, and may be replaced.
void refuse_socket_in_use(const ServerConfig& c) {
  const std::string path = c.socket_path();
  sockaddr_un address{};
  if (path.empty() || path.size() >= sizeof(address.sun_path)) return;  // gRPC reports a path too long
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  // EAGAIN: the listener's backlog is full, so it is alive too.
  const bool in_use = connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0 || errno == EAGAIN;
  close(fd);
  if (in_use) throw Error(ErrorCode::kIo, "cannot listen on " + c.host + ": another server is listening there");
}

}  // namespace

Server::Server(ServerConfig config) : config_(std::move(config)), registry_(config_, &metrics_) { config_.validate(); }

Server::~Server() { shutdown(); }

void Server::set_serving(bool serving) {
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  health->SetServingStatus(serving);
  for (const char* service : {"sparrow.v1.Detection", "inference.GRPCInferenceService"}) {
    health->SetServingStatus(service, serving);
  }
}

void Server::start() {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  detection_ = std::make_unique<DetectionService>(registry_);
  kserve_ = std::make_unique<KServeService>(registry_);
  refuse_socket_in_use(config_);
  grpc::ServerBuilder builder;
  // gRPC sets SO_REUSEPORT by default, which lets a second server bind a port in use and take
  // a share of its connections; without it the second one fails here.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  manage_connections(builder, config_);
  builder.AddListeningPort(config_.grpc_address(config_.port), credentials(config_), &port_);
  builder.SetMaxReceiveMessageSize(static_cast<int>(config_.max_receive_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(config_.max_receive_message_bytes));
  builder.RegisterService(detection_.get());
  builder.RegisterService(kserve_.get());
  server_ = builder.BuildAndStart();
  if (!server_ || port_ == 0) {
    throw Error(ErrorCode::kIo, "cannot listen on " + config_.grpc_address(config_.port) +
                                    (config_.unix_socket() ? " (no such folder, no permission, or a file there that is not a socket?)"
                                                           : " (port in use?)"));
  }
  set_serving(false);
  metrics_.serve(config_.metrics_host(), config_.metrics_port);
  // port_ is the port bound (for --port 0); gRPC reports 1 for a socket, which has none.
  std::fprintf(stderr, "sparrow-server: listening on %s (gRPC), metrics on port %d; loading models\n",
               config_.grpc_address(port_).c_str(), metrics_.bound_port());
  registry_.load();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    set_serving(true);
  }
  std::fprintf(stderr, "sparrow-server: SERVING\n");
}

void Server::wait() {
  std::unique_lock<std::mutex> lock(mutex_);
  stopped_.wait(lock, [this] { return stopped_flag_; });
}

void Server::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    if (server_) set_serving(false);
  }
  if (server_) {
    std::fprintf(stderr, "sparrow-server: shutting down, draining calls in flight\n");
    // New calls get UNAVAILABLE from here on; the accepted ones finish as the batchers keep
    // running. Then gRPC's own shutdown only has responses still being sent and long-lived
    // streams (health Watch) left, and ends those after a short grace instead of holding the
    // process for the whole timeout.
    const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(config_.shutdown_timeout_seconds * 1000));
    if (!registry_.calls().stop_and_wait(std::chrono::steady_clock::now() + timeout)) {
      std::fprintf(stderr, "sparrow-server: calls still running after %.0f s are cancelled\n", config_.shutdown_timeout_seconds);
    }
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    registry_.drain();
    server_->Wait();
    const int64_t accepted = registry_.calls().accepted();
    std::fprintf(stderr, "sparrow-server: answered %lld of %lld accepted calls\n",
                 static_cast<long long>(accepted - registry_.calls().in_flight()), static_cast<long long>(accepted));
  }
  metrics_.stop_serving();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopped_flag_ = true;
  }
  stopped_.notify_all();
  std::fprintf(stderr, "sparrow-server: stopped\n");
}

}  // namespace sparrow::server
