// ONNX model (protobuf) -> Sparrow graph IR. Validates with ONNX's checker (shapes are inferred by
// Sparrow's own passes), and rejects what the engine cannot run with the node and op named.
#pragma once

#include <string>

#include "graph/graph.h"

namespace onnx {
class ModelProto;
}

namespace sparrow::onnx_import {

// Lowest and highest default-domain opset the importer accepts.
constexpr int kMinOpset = 7;
constexpr int kMaxOpset = 17;

// `base_dir` resolves external weight files; empty means the model must be self-contained.
graph::Graph import_model(const std::string& bytes, const std::string& base_dir);
graph::Graph import_model_file(const std::string& path);
// The model file as a self-contained ModelProto (external data read in), for tools that rewrite
// models (compression). sparrow::Error naming the file: kNotFound, kInvalidArgument for a
// directory, kIo, kInvalidModel when it is no ONNX protobuf.
onnx::ModelProto read_model_file(const std::string& path);

}  // namespace sparrow::onnx_import
