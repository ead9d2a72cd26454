#include "status.h"

namespace sparrow::server {

grpc::Status to_status(const Error& error) {
  switch (error.code()) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kInvalidModel:
    case ErrorCode::kUnsupported: return {grpc::StatusCode::INVALID_ARGUMENT, error.what()};
    case ErrorCode::kNotFound: return {grpc::StatusCode::NOT_FOUND, error.what()};
    case ErrorCode::kResourceExhausted: return {grpc::StatusCode::RESOURCE_EXHAUSTED, error.what()};
    case ErrorCode::kIo:
    case ErrorCode::kInternal: break;
  }
  return {grpc::StatusCode::INTERNAL, error.what()};
}

grpc::Status to_status(const std::exception& error) {
  if (const auto* e = dynamic_cast<const Error*>(&error)) return to_status(*e);
  return {grpc::StatusCode::INTERNAL, error.what()};
}

grpc::Status shutting_down() { return {grpc::StatusCode::UNAVAILABLE, "the server is shutting down"}; }

std::string status_name(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    default: return "CODE_" + std::to_string(static_cast<int>(code));
  }
}

}  // namespace sparrow::server
