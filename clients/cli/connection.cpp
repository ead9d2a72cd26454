#include "connection.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <fstream>
#include <sstream>

#include "sparrow/error.h"

namespace sparrow::client {
namespace {

std::string read_pem(const std::string& path, const char* flag) {
  std::ifstream f(path);
  if (!f) throw Error(ErrorCode::kNotFound, std::string(flag) + " '" + path + "' cannot be read");
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::shared_ptr<grpc::ChannelCredentials> credentials(const Connection& c) {
  if (!c.tls && c.ca.empty() && c.cert.empty() && c.key.empty()) return grpc::InsecureChannelCredentials();
  if (c.cert.empty() != c.key.empty()) {
    throw Error(ErrorCode::kInvalidArgument, "--cert and --key go together (mutual TLS needs both)");
  }
  grpc::SslCredentialsOptions ssl;
  // Without --ca gRPC falls back to the system's roots.
  if (!c.ca.empty()) ssl.pem_root_certs = read_pem(c.ca, "--ca");
  if (!c.cert.empty()) {
    ssl.pem_cert_chain = read_pem(c.cert, "--cert");
    ssl.pem_private_key = read_pem(c.key, "--key");
  }
  return grpc::SslCredentials(ssl);
}

}  // namespace

void Connection::add_to(CLI::App& app) {
  app.add_option("-s,--server", server, "Server address HOST:PORT, or unix:PATH")->envname("SPARROW_SERVER")->capture_default_str();
  app.add_option("-m,--model", model, "Model name (default: the server's default model)");
  app.add_option("--timeout", timeout_seconds, "Deadline per call in seconds (default: 30; benchmark: its run time + 120)")
      ->check(CLI::Range(0.001, 1e6));
  app.add_flag("--tls", tls, "Connect with TLS (server authentication)");
  app.add_option("--ca", ca, "PEM CA certificate(s) to verify the server with (default: the system's); implies --tls");
  app.add_option("--cert", cert, "PEM client certificate chain for mutual TLS; implies --tls");
  app.add_option("--key", key, "PEM private key of --cert");
}

std::shared_ptr<grpc::Channel> Connection::channel() const {
  // A bare host would silently get gRPC's default port 443; every other form (dns:///, unix:,
  // ipv4:) carries a colon.
  if (server.empty() || server.find(':') == std::string::npos) {
    throw Error(ErrorCode::kInvalidArgument, "--server '" + server + "' must look like HOST:PORT");
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);  // KServe outputs are raw tensors, larger than the 4 MB default
  // Reconnect within a second once the server is up (health --wait), instead of gRPC's backoff
  // that grows to two minutes.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  return grpc::CreateCustomChannel(server, credentials(*this), args);
}

void Connection::set_deadline(grpc::ClientContext& context, double default_seconds) const {
  const double seconds = timeout_or(default_seconds);
  if (seconds > 0) context.set_deadline(deadline_after(seconds));
}

std::chrono::system_clock::time_point deadline_after(double seconds) {
  return std::chrono::system_clock::now() + std::chrono::microseconds(static_cast<int64_t>(seconds * 1e6));
}

}  // namespace sparrow::client
