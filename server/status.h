// sparrow::Error -> grpc::Status, and names of status codes for metrics.
#pragma once

#include <grpcpp/support/status.h>

#include <string>

#include "sparrow/error.h"

namespace sparrow::server {

grpc::Status to_status(const Error& error);
grpc::Status to_status(const std::exception& error);
std::string status_name(grpc::StatusCode code);
// UNAVAILABLE: what every call that arrives after shutdown began is answered.
grpc::Status shutting_down();

}  // namespace sparrow::server
