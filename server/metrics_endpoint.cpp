#include "metrics_endpoint.h"

#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sparrow/error.h"

namespace sparrow::server {
namespace {

// Connections are closed after this long without a byte either way: a scraper opens a new one
// per scrape if its interval is longer, which costs one TCP handshake; a client that connects and
// sends nothing, or half a request, holds its descriptor no longer than this.
constexpr unsigned kIdleTimeoutSeconds = 10;
// Beyond this many open connections new ones wait in the listen backlog until one closes (at the
// latest after the idle timeout), which bounds descriptors and memory (32 KiB per connection).
constexpr unsigned kMaxConnections = 4096;

[[noreturn]] void cannot_listen(const std::string& host, int port, const std::string& why) {
  throw Error(ErrorCode::kIo, "cannot listen for metrics on " + host + ":" + std::to_string(port) + ": " + why);
}

// A listening socket made here rather than by libmicrohttpd, so that a port in use is reported
// with the system's reason. SO_REUSEADDR only lets a restarted server bind past TIME_WAIT; without
// SO_REUSEPORT a second server cannot share the port.
int listen_tcp(const std::string& host, int port) {
  // gRPC spells IPv6 addresses in brackets ([::]); getaddrinfo takes them bare.
  const bool bracketed = host.size() > 2 && host.front() == '[' && host.back() == ']';
  const std::string name = bracketed ? host.substr(1, host.size() - 2) : host;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (const int rc = getaddrinfo(name.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0) {
    cannot_listen(host, port, gai_strerror(rc));
  }
  int error = 0;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      error = errno;
      continue;
    }
    const int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0) {
      freeaddrinfo(found);
      return fd;
    }
    error = errno;
    close(fd);
  }
  freeaddrinfo(found);
  cannot_listen(host, port, std::strerror(error));
}

int local_port(int fd) {
  sockaddr_storage address{};
  socklen_t size = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  return address.ss_family == AF_INET6 ? ntohs(reinterpret_cast<const sockaddr_in6&>(address).sin6_port)
                                       : ntohs(reinterpret_cast<const sockaddr_in&>(address).sin_port);
}

MHD_Result respond(MHD_Connection* connection, unsigned status, const std::string& body, const char* content_type) {
  MHD_Response* response =
      MHD_create_response_from_buffer(body.size(), const_cast<char*>(body.data()), MHD_RESPMEM_MUST_COPY);
  if (response == nullptr) return MHD_NO;
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
  if (status == MHD_HTTP_METHOD_NOT_ALLOWED) MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
  const MHD_Result queued = MHD_queue_response(connection, status, response);
  MHD_destroy_response(response);
  return queued;
}

// Called when the request's headers are in, then for each piece of its body, then once more.
// It answers on that last call: an answer queued earlier makes libmicrohttpd close the connection
// instead of keeping it alive for the next scrape.
MHD_Result answer(void* render, MHD_Connection* connection, const char* url, const char* method, const char*,
                  const char*, size_t* body_size, void** request) {
  static int headers_seen;
  if (*request == nullptr) {
    *request = &headers_seen;
    return MHD_YES;
  }
  if (*body_size != 0) {
    *body_size = 0;  // /metrics takes no body; whatever comes is dropped
    return MHD_YES;
  }
  if (std::strcmp(url, "/metrics") != 0) return respond(connection, MHD_HTTP_NOT_FOUND, "not found\n", "text/plain");
  if (std::strcmp(method, MHD_HTTP_METHOD_GET) != 0 && std::strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
    return respond(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n", "text/plain");
  }
  try {
    const std::string text = (*static_cast<const std::function<std::string()>*>(render))();
    return respond(connection, MHD_HTTP_OK, text, "text/plain; version=0.0.4");
  } catch (const std::exception& e) {
    return respond(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, std::string(e.what()) + "\n", "text/plain");
  }
}

}  // namespace

MetricsEndpoint::MetricsEndpoint(const std::string& host, int port, std::function<std::string()> render)
    : render_(std::move(render)) {
  const int fd = listen_tcp(host, port);
  port_ = local_port(fd);
  // ITC: at the connection limit the daemon stops accepting (connections queue in the backlog)
  // instead of accepting and closing them.
  daemon_ = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC, 0, nullptr, nullptr, &answer, &render_,
                             MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT, kMaxConnections,
                             MHD_OPTION_CONNECTION_TIMEOUT, kIdleTimeoutSeconds, MHD_OPTION_END);
  if (daemon_ == nullptr) {
    close(fd);  // the daemon owns the socket only once started
    cannot_listen(host, port, "libmicrohttpd did not start");
  }
}

MetricsEndpoint::~MetricsEndpoint() { MHD_stop_daemon(daemon_); }

}  // namespace sparrow::server
