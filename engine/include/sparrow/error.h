// Sparrow reports every failure as a sparrow::Error: a category a caller can branch on (and map to
// an RPC status) plus a message that names the input that failed and why.
#pragma once

#include <stdexcept>
#include <string>

namespace sparrow {

enum class ErrorCode {
  kInvalidArgument,    // a caller's value is wrong: shape, dtype, option, flag
  kInvalidModel,       // the model file is malformed or inconsistent
  kUnsupported,        // valid ONNX that this engine does not run (op, attribute, dtype)
  kNotFound,           // a file or named entity does not exist
  kIo,                 // reading or writing a file failed
  kResourceExhausted,  // a request exceeds a memory or size limit
  kInternal,           // a bug in Sparrow
};

const char* error_code_name(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message);
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace sparrow
