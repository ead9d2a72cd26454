#include "kserve_parameters.h"

#include <cmath>
#include <cstdlib>
#include <limits>

#include "client_text.h"
#include "detect_job.h"

namespace sparrow::server {
namespace {

using Choice = inference::InferParameter::ParameterChoiceCase;

grpc::Status bad(const std::string& name, const std::string& why) {
  return {grpc::StatusCode::INVALID_ARGUMENT, "parameter " + quoted(name) + " " + why};
}

bool parse_double(const std::string& text, double* out) {
  if (text.empty()) return false;
  char* end = nullptr;
  *out = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size();
}

// KServe-only clients have no double parameter, so a numeric string is a number too.
grpc::Status number(const std::string& name, const inference::InferParameter& p, double* out) {
  switch (p.parameter_choice_case()) {
    case Choice::kDoubleParam: *out = p.double_param(); return grpc::Status::OK;
    case Choice::kInt64Param: *out = static_cast<double>(p.int64_param()); return grpc::Status::OK;
    case Choice::kUint64Param: *out = static_cast<double>(p.uint64_param()); return grpc::Status::OK;
    case Choice::kStringParam:
      if (parse_double(p.string_param(), out)) return grpc::Status::OK;
      return bad(name, "must be a number, not " + quoted(p.string_param()));
    default: return bad(name, "must be a number");
  }
}

grpc::Status integer(const std::string& name, const inference::InferParameter& p, int32_t* out) {
  double v = 0;
  if (grpc::Status s = number(name, p, &v); !s.ok()) return s;
  if (v != std::floor(v) || std::abs(v) > std::numeric_limits<int32_t>::max()) return bad(name, "must be an integer");
  *out = static_cast<int32_t>(v);
  return grpc::Status::OK;
}

// "0,2,5", or one class as an integer.
grpc::Status class_ids(const std::string& name, const inference::InferParameter& p, v1::DetectOptions* o) {
  if (p.parameter_choice_case() != Choice::kStringParam) {
    int32_t id = 0;
    if (grpc::Status s = integer(name, p, &id); !s.ok()) return bad(name, "must be a string of class ids like \"0,2,5\"");
    o->add_classes(id);
    return grpc::Status::OK;
  }
  const std::string& text = p.string_param();
  for (size_t start = 0; start <= text.size();) {
    const size_t comma = std::min(text.find(',', start), text.size());
    double id = 0;
    if (!parse_double(text.substr(start, comma - start), &id) || id != std::floor(id) || std::abs(id) > 1e9) {
      return bad(name, "must be a string of class ids like \"0,2,5\", not " + quoted(text));
    }
    o->add_classes(static_cast<int32_t>(id));
    start = comma + 1;
  }
  return grpc::Status::OK;
}

grpc::Status apply(const std::string& name, const inference::InferParameter& p, v1::DetectOptions* o) {
  double v = 0;
  int32_t i = 0;
  grpc::Status s = grpc::Status::OK;
  if (name == "conf_threshold") {
    if ((s = number(name, p, &v)).ok()) o->set_conf_threshold(static_cast<float>(v));
  } else if (name == "iou_threshold") {
    if ((s = number(name, p, &v)).ok()) o->set_iou_threshold(static_cast<float>(v));
  } else if (name == "max_det") {
    if ((s = integer(name, p, &i)).ok()) o->set_max_det(i);
  } else if (name == "classes") {
    s = class_ids(name, p, o);
  } else if (name == "agnostic") {
    if (p.parameter_choice_case() != Choice::kBoolParam) return bad(name, "must be a bool");
    o->set_agnostic(p.bool_param());
  }
  return s;
}

grpc::Status bad(const std::string& tensor, const std::string& name, const std::string& why) {
  return {grpc::StatusCode::INVALID_ARGUMENT, "parameter " + quoted(name) + " of tensor " + quoted(tensor) + " " + why};
}

// A byte count or offset: a non-negative int64, or a uint64 (as some clients send sizes).
grpc::Status byte_count(const std::string& tensor, const std::string& name, const inference::InferParameter& p,
                        uint64_t* out) {
  if (p.parameter_choice_case() == Choice::kUint64Param) {
    *out = p.uint64_param();
  } else if (p.parameter_choice_case() == Choice::kInt64Param && p.int64_param() >= 0) {
    *out = static_cast<uint64_t>(p.int64_param());
  } else {
    return bad(tensor, name, "must be a non-negative integer (int64_param)");
  }
  return grpc::Status::OK;
}

}  // namespace

grpc::Status shared_memory_reference(const KServeParameters& parameters, const std::string& tensor,
                                     std::optional<SharedMemoryReference>* out) {
  const auto region = parameters.find("shared_memory_region");
  const auto size = parameters.find("shared_memory_byte_size");
  const auto offset = parameters.find("shared_memory_offset");
  if (region == parameters.end() && size == parameters.end()) {
    if (offset != parameters.end()) return bad(tensor, "shared_memory_offset", "needs shared_memory_region");
    return grpc::Status::OK;
  }
  if (region == parameters.end() || size == parameters.end()) {
    return bad(tensor, region == parameters.end() ? "shared_memory_region" : "shared_memory_byte_size",
               "is missing: shared memory takes both shared_memory_region and shared_memory_byte_size");
  }
  if (region->second.parameter_choice_case() != Choice::kStringParam) {
    return bad(tensor, "shared_memory_region", "must be a string (string_param)");
  }
  SharedMemoryReference ref;
  ref.region = region->second.string_param();
  if (grpc::Status s = byte_count(tensor, "shared_memory_byte_size", size->second, &ref.byte_size); !s.ok()) return s;
  if (offset != parameters.end()) {
    if (grpc::Status s = byte_count(tensor, "shared_memory_offset", offset->second, &ref.offset); !s.ok()) return s;
  }
  *out = std::move(ref);
  return grpc::Status::OK;
}

grpc::Status nms_from_parameters(const KServeParameters& parameters, const yolo::NmsOptions& defaults,
                                 yolo::NmsOptions* out) {
  v1::DetectOptions options;
  for (const auto& [name, p] : parameters) {
    if (grpc::Status s = apply(name, p, &options); !s.ok()) return s;
  }
  return nms_options(options, defaults, out);
}

}  // namespace sparrow::server
