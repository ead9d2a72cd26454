// Another runtime as a child process that turns one input tensor into one output tensor over
// pipes (the protocol of benchmarks/peers/ort/ort_pipe.js).
#pragma once

#include <sys/types.h>

#include <string>

#include "sparrow/tensor.h"

namespace sparrow::bench {

class PeerProcess {
 public:
  // `command` runs under /bin/sh -c.
  explicit PeerProcess(const std::string& command);
  ~PeerProcess();
  PeerProcess(const PeerProcess&) = delete;
  PeerProcess& operator=(const PeerProcess&) = delete;

  // The peer's first output for `input` (float32). Throws sparrow::Error when the peer fails.
  Tensor run(const Tensor& input);

 private:
  pid_t pid_ = -1;
  int to_peer_ = -1, from_peer_ = -1;
  std::string command_;
};

}  // namespace sparrow::bench
