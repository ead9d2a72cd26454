#include "server/server_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <cstring>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "grpc/health/v1/health.grpc.pb.h"

namespace sparrow::test {

namespace {

// Starts sparrow-server with `args`; its stderr goes to *log_fd (non-blocking).
pid_t spawn(const std::vector<std::string>& args, int* log_fd) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) throw std::runtime_error("pipe failed");
  std::vector<std::string> argv_strings = {SPARROW_SERVER_BINARY};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(pipe_fds[1], STDERR_FILENO);
    close(pipe_fds[0]);
    std::vector<char*> argv;
    for (auto& a : argv_strings) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  *log_fd = pipe_fds[0];
  fcntl(*log_fd, F_SETFL, O_NONBLOCK);
  return pid;
}

}  // namespace

ServerProcess::ServerProcess(const std::vector<std::string>& args) {
  std::vector<std::string> all = {"--port", "0", "--metrics-port", "-1"};
  all.insert(all.end(), args.begin(), args.end());
  pid_ = spawn(all, &log_fd_);
  read_log_until("loading models", std::chrono::seconds(60));
  std::smatch m;
  if (std::regex_search(log_, m, std::regex(R"(listening on (\S+) \(gRPC\), metrics on port (-?\d+))"))) {
    const std::string logged = m[1];
    metrics_port_ = std::stoi(m[2]);
    if (logged.rfind("unix", 0) == 0) {
      address_ = logged;
    } else {
      port_ = std::stoi(logged.substr(logged.rfind(':') + 1));
      address_ = "127.0.0.1:" + std::to_string(port_);
    }
  }
  if (address_.empty()) throw std::runtime_error("server did not report its address:\n" + log_);
}

int ServerProcess::run(const std::vector<std::string>& args, std::chrono::seconds timeout, std::string* log) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  ServerProcess server;
  server.pid_ = spawn(args, &server.log_fd_);
  server.read_log_until("\x04", timeout);  // a marker never logged: reads until stderr closes
  int status = 0;
  while (waitpid(server.pid_, &status, WNOHANG) != server.pid_) {
    if (std::chrono::steady_clock::now() > deadline) {
      *log = server.log();
      return -1;  // the destructor kills it
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  server.pid_ = -1;
  *log = server.log();
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (log_fd_ >= 0) close(log_fd_);
}

void ServerProcess::read_log_until(const std::string& marker, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (log_.find(marker) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd p{log_fd_, POLLIN, 0};
    if (poll(&p, 1, 100) > 0) {
      char buffer[4096];
      const ssize_t n = read(log_fd_, buffer, sizeof(buffer));
      if (n > 0) log_.append(buffer, static_cast<size_t>(n));
      if (n == 0) break;
    }
  }
}

std::string ServerProcess::log() const {
  char buffer[4096];
  ssize_t n;
  while ((n = read(log_fd_, buffer, sizeof(buffer))) > 0) log_.append(buffer, static_cast<size_t>(n));
  return log_;
}

std::shared_ptr<grpc::Channel> ServerProcess::channel(int max_message_bytes) const {
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(max_message_bytes);
  args.SetMaxReceiveMessageSize(max_message_bytes);
  // A channel per caller, so load tests are not serialised over one connection.
  args.SetInt("grpc.use_local_subchannel_pool", 1);
  return grpc::CreateCustomChannel(address_, grpc::InsecureChannelCredentials(), args);
}

std::string ServerProcess::health() const {
  auto stub = grpc::health::v1::Health::NewStub(channel());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status s = stub->Check(&ctx, request, &response);
  if (!s.ok()) return "error " + std::to_string(s.error_code()) + ": " + s.error_message();
  return grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status());
}

bool ServerProcess::wait_serving(std::chrono::seconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (health() == "SERVING") return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

std::string ServerProcess::metrics(std::chrono::seconds timeout) const {
  // A bare HTTP/1.0 GET: enough for the server's own endpoint and no extra dependency.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(metrics_port_));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const char request[] = "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n";
    if (write(fd, request, sizeof(request) - 1) > 0) {
      char buffer[8192];
      for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        pollfd p{fd, POLLIN, 0};
        if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) {
          out.clear();  // not answered in time
          break;
        }
        const ssize_t n = read(fd, buffer, sizeof(buffer));
        if (n <= 0) break;
        out.append(buffer, static_cast<size_t>(n));
      }
    }
  }
  close(fd);
  const size_t body = out.find("\r\n\r\n");
  return body == std::string::npos ? "" : out.substr(body + 4);
}

double ServerProcess::metric(const std::string& name, const std::string& label_filter) const {
  std::istringstream lines(metrics());
  double total = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name, 0) != 0 || (line.size() > name.size() && line[name.size()] != '{' && line[name.size()] != ' ')) continue;
    if (!label_filter.empty() && line.find(label_filter) == std::string::npos) continue;
    total += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return total;
}

int ServerProcess::terminate(std::chrono::seconds timeout) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

}  // namespace sparrow::test
