// Writing the ONNX files compression rewrites, at the protobuf level (onnx_import::read_model_file
// reads them).
#pragma once

#include <string>

#include <onnx/onnx_pb.h>

namespace sparrow::compression {

// Serializes to `path`; kIo naming it on failure.
void write_model(const onnx::ModelProto& model, const std::string& path);
// Replaces a float initializer's values (raw data; any external or typed data dropped).
void set_float_values(onnx::TensorProto& proto, const float* values, size_t count);
// The default domain's opset.
int default_opset(const onnx::ModelProto& model);
// Converts to `opset` with ONNX's version converter when older (ops such as Split then take
// their attributes as inputs); metadata and names are kept.
void upgrade_opset(onnx::ModelProto& model, int opset);

}  // namespace sparrow::compression
