#include "peer_process.h"

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <vector>

#include "sparrow/error.h"

namespace sparrow::bench {
namespace {

[[noreturn]] void peer_failed(const std::string& command, const std::string& why) {
  throw Error(ErrorCode::kIo, "peer '" + command + "' " + why);
}

void write_all(int fd, const void* data, size_t n, const std::string& command) {
  const auto* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w <= 0) peer_failed(command, "stopped reading its input");
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void read_all(int fd, void* data, size_t n, const std::string& command) {
  auto* p = static_cast<char*>(data);
  while (n > 0) {
    const ssize_t r = ::read(fd, p, n);
    if (r <= 0) peer_failed(command, "ended without an answer (see its messages above)");
    p += r;
    n -= static_cast<size_t>(r);
  }
}

}  // namespace

PeerProcess::PeerProcess(const std::string& command) : command_(command) {
  int in[2], out[2];
  if (::pipe(in) != 0 || ::pipe(out) != 0) peer_failed(command, "could not get pipes");
  ::signal(SIGPIPE, SIG_IGN);  // a peer that dies must be an error here, not a silent exit
  pid_ = ::fork();
  if (pid_ < 0) peer_failed(command, "could not be started");
  if (pid_ == 0) {
    ::dup2(in[0], STDIN_FILENO);
    ::dup2(out[1], STDOUT_FILENO);
    for (int fd : {in[0], in[1], out[0], out[1]}) ::close(fd);
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  to_peer_ = in[1];
  from_peer_ = out[0];
}

PeerProcess::~PeerProcess() {
  ::close(to_peer_);
  ::close(from_peer_);
  int status = 0;
  ::waitpid(pid_, &status, 0);
}

Tensor PeerProcess::run(const Tensor& input) {
  std::vector<uint32_t> header = {static_cast<uint32_t>(input.rank())};
  for (int64_t d : input.shape()) header.push_back(static_cast<uint32_t>(d));
  write_all(to_peer_, header.data(), header.size() * sizeof(uint32_t), command_);
  write_all(to_peer_, input.data(), input.bytes(), command_);
  uint32_t rank = 0;
  read_all(from_peer_, &rank, sizeof rank, command_);
  if (rank > 8) peer_failed(command_, "answered a tensor of rank " + std::to_string(rank));
  std::vector<uint32_t> dims(rank);
  read_all(from_peer_, dims.data(), rank * sizeof(uint32_t), command_);
  Tensor out(DType::kFloat32, Shape(dims.begin(), dims.end()));
  read_all(from_peer_, out.data(), out.bytes(), command_);
  return out;
}

}  // namespace sparrow::bench
