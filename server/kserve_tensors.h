// KServe v2 tensor plumbing: shapes, length-prefixed BYTES elements, and output tensors written
// either as raw_output_contents or as typed contents.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kserve/grpc_predict_v2.pb.h"

namespace sparrow::server {

using KServeShape = google::protobuf::RepeatedField<int64_t>;

// "[1, 3, 640, 640]", clipped as any client-chosen text is.
std::string shape_text(const KServeShape& shape);
// The number of elements, or nullopt for a negative dimension or an absurd product.
std::optional<int64_t> element_count(const KServeShape& shape);

// Splits raw BYTES contents (each element a 4-byte little-endian length, then its bytes) into
// views of `raw`; nullopt when the lengths do not tile `raw` exactly.
std::optional<std::vector<std::string_view>> split_length_prefixed(std::string_view raw);

// Appends an output tensor whose elements are `bytes` (little-endian, row-major). raw: moved into
// raw_output_contents; otherwise copied into the contents field of `datatype` (FP32 or INT32).
void add_output(inference::ModelInferResponse* response, const std::string& name, const std::string& datatype,
                const std::vector<int64_t>& shape, std::string&& bytes, bool raw);

}  // namespace sparrow::server
