// Detections of encoded images as KServe output tensors: "detections" FP32 [N, K, 6] rows of
// (x1, y1, x2, y2, score, class_id), zero rows past each image's count, and "detection_counts"
// INT32 [N]. A plain tensor pair keeps generic clients working: no nested or ragged types.
#pragma once

#include <string>
#include <vector>

#include "kserve/grpc_predict_v2.pb.h"
#include "sparrow/v1/detection.pb.h"

namespace sparrow::server {

// Appends the `requested` outputs (kDetectionsOutput, kDetectionCountsOutput), in that order.
void add_detection_outputs(const v1::DetectResponse& detections, const std::vector<std::string>& requested, bool raw,
                           inference::ModelInferResponse* out);

}  // namespace sparrow::server
