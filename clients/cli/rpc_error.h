// A failed call, reported as "<what>: <STATUS_CODE>: <server's message>".
#pragma once

#include <grpcpp/support/status.h>

#include <stdexcept>
#include <string>

namespace sparrow::client {

// "NOT_FOUND", "UNAVAILABLE", ... as gRPC names the codes.
std::string status_code_name(grpc::StatusCode code);

// "CODE: message", the way every command prints a status.
std::string describe(const grpc::Status& status);

class RpcError : public std::runtime_error {
 public:
  RpcError(const std::string& what_failed, const grpc::Status& status);
  grpc::StatusCode code() const { return code_; }

 private:
  grpc::StatusCode code_;
};

// Throws RpcError unless the status is OK.
void check(const grpc::Status& status, const std::string& what_failed);

}  // namespace sparrow::client
