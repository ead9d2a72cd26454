// Post-processing options from a KServe request's parameters:
//   conf_threshold, iou_threshold  numbers in [0, 1] (double, int64 or a numeric string)
//   max_det                        an integer in [1, 100000]
//   classes                        a string of class ids, "0,2,5": keep only these
//   agnostic                       bool: one NMS over all classes
// Other parameters are left alone, as Triton passes unknown ones through to its backends.
//
// A tensor's own parameters may place it in shared memory (Triton's extension):
//   shared_memory_region     string: a registered region's name
//   shared_memory_byte_size  integer: the tensor's bytes
//   shared_memory_offset     integer, optional (0): where they start in the region
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <grpcpp/support/status.h>

#include "kserve/grpc_predict_v2.pb.h"
#include "sparrow/yolo/detection.h"

namespace sparrow::server {

using KServeParameters = google::protobuf::Map<std::string, inference::InferParameter>;

// The parameters over `defaults`; INVALID_ARGUMENT naming the parameter for a wrong type or range.
grpc::Status nms_from_parameters(const KServeParameters& parameters, const yolo::NmsOptions& defaults,
                                 yolo::NmsOptions* out);

struct SharedMemoryReference {
  std::string region;
  uint64_t offset = 0, byte_size = 0;
};

// Empty when the parameters name no region. INVALID_ARGUMENT naming `tensor` and the parameter
// when one of the two required parameters is missing or a value has the wrong type or sign.
grpc::Status shared_memory_reference(const KServeParameters& parameters, const std::string& tensor,
                                     std::optional<SharedMemoryReference>* out);

}  // namespace sparrow::server
