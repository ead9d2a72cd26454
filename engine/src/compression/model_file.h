// Reading and writing the ONNX files compression rewrites, at the protobuf level.
#pragma once

#include <string>

#include <onnx/onnx_pb.h>

namespace sparrow::compression {

// The model at `path`, self-contained (external weights read in). sparrow::Error naming the file:
// kNotFound, kIo, or kInvalidModel when it is no ONNX model.
onnx::ModelProto read_model(const std::string& path);
// Serializes to `path`; kIo naming it on failure.
void write_model(const onnx::ModelProto& model, const std::string& path);
// The default domain's opset.
int default_opset(const onnx::ModelProto& model);
// Converts to `opset` with ONNX's version converter when older (ops such as Split then take
// their attributes as inputs); metadata and names are kept.
void upgrade_opset(onnx::ModelProto& model, int opset);

}  // namespace sparrow::compression
