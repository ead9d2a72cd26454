// The metadata entry "sparrow.compression" (JSON) that records in the file what compress did.
#pragma once

#include <string>

#include <onnx/onnx_pb.h>

#include "sparrow/compression/compress.h"

namespace sparrow::compression {

// Sets (or replaces) the entry from what was asked and what came of it.
void record_compression(onnx::ModelProto& model, const CompressOptions& options, const CompressReport& report);

}  // namespace sparrow::compression
