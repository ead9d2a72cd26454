#include "kserve_detections.h"

#include <algorithm>
#include <cstring>

#include "kserve_model.h"
#include "kserve_tensors.h"

namespace sparrow::server {
namespace {

template <typename T>
std::string to_bytes(const std::vector<T>& values) {
  std::string bytes(values.size() * sizeof(T), '\0');
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

size_t most_detections(const v1::DetectResponse& d) {
  size_t k = 0;
  for (const v1::ImageResult& r : d.results()) k = std::max(k, static_cast<size_t>(r.detections_size()));
  return k;
}

std::vector<float> detection_rows(const v1::DetectResponse& d, size_t k) {
  std::vector<float> rows(static_cast<size_t>(d.results_size()) * k * kDetectionFields, 0.0f);
  float* row = rows.data();
  for (const v1::ImageResult& r : d.results()) {
    float* next_image = row + k * kDetectionFields;
    for (const v1::DetectedObject& o : r.detections()) {
      const float values[kDetectionFields] = {o.box().x1(), o.box().y1(), o.box().x2(), o.box().y2(), o.score(),
                                              static_cast<float>(o.class_id())};
      row = std::copy(std::begin(values), std::end(values), row);
    }
    row = next_image;
  }
  return rows;
}

}  // namespace

void add_detection_outputs(const v1::DetectResponse& detections, const std::vector<std::string>& requested, bool raw,
                           inference::ModelInferResponse* out) {
  const auto n = static_cast<int64_t>(detections.results_size());
  for (const std::string& name : requested) {
    if (name == kDetectionsOutput) {
      const size_t k = most_detections(detections);
      add_output(out, name, "FP32", {n, static_cast<int64_t>(k), kDetectionFields}, to_bytes(detection_rows(detections, k)),
                 raw);
    } else if (name == kDetectionCountsOutput) {
      std::vector<int32_t> counts;
      for (const v1::ImageResult& r : detections.results()) counts.push_back(r.detections_size());
      add_output(out, name, "INT32", {n}, to_bytes(counts), raw);
    }
  }
}

}  // namespace sparrow::server
