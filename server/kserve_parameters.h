// Post-processing options from a KServe request's parameters:
//   conf_threshold, iou_threshold  numbers in [0, 1] (double, int64 or a numeric string)
//   max_det                        an integer in [1, 100000]
//   classes                        a string of class ids, "0,2,5": keep only these
//   agnostic                       bool: one NMS over all classes
// Other parameters are left alone, as Triton passes unknown ones through to its backends.
#pragma once

#include <grpcpp/support/status.h>

#include "kserve/grpc_predict_v2.pb.h"
#include "sparrow/yolo/detection.h"

namespace sparrow::server {

using KServeParameters = google::protobuf::Map<std::string, inference::InferParameter>;

// The parameters over `defaults`; INVALID_ARGUMENT naming the parameter for a wrong type or range.
grpc::Status nms_from_parameters(const KServeParameters& parameters, const yolo::NmsOptions& defaults,
                                 yolo::NmsOptions* out);

}  // namespace sparrow::server
