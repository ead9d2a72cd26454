// The HTTP endpoint Prometheus scrapes: GET /metrics on one TCP port, served by GNU
// libmicrohttpd from a single epoll thread, so idle or half-sent connections cost a descriptor
// each and never hold up a scrape.
#pragma once

#include <functional>
#include <string>

struct MHD_Daemon;

namespace sparrow::server {

class MetricsEndpoint {
 public:
  // Listens on host:port (port 0: any free port) and answers GET /metrics with render()'s text,
  // called on the endpoint's thread. Throws sparrow::Error naming the address if it cannot listen.
  MetricsEndpoint(const std::string& host, int port, std::function<std::string()> render);
  ~MetricsEndpoint();  // closes the port and every connection
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  int port() const { return port_; }

 private:
  std::function<std::string()> render_;  // its address is the daemon's closure: not movable
  MHD_Daemon* daemon_ = nullptr;
  int port_ = 0;
};

}  // namespace sparrow::server
