// Pruning a whole model: which convolutions are pruned, and their weights rewritten in place.
#pragma once

#include <onnx/onnx_pb.h>

#include "compression/quantize_model.h"
#include "sparrow/compression/prune.h"

namespace sparrow::compression {

// Prunes every Conv of `model` whose weights are a float initializer, except the first conv(s)
// (reading the graph input), the head (feeding the outputs: YOLOv5's Detect) and `exclude`;
// --method lowrank factors the 1x1 ones among them instead (each becomes two Conv nodes).
// Throws kInvalidArgument for a sparsity outside [0, 1), a block other than 1 or 4, a quantized
// model, a model without a convolution to prune (or to factor); kNotFound for an unknown `exclude` name.
// `int8` (--method obs only): the model is to be quantized on these activation grids. Each layer
// then sees its inputs rounded to them, and GPTQ rounds its weights (report.int8_steps).
PruneReport prune_model(onnx::ModelProto& model, const PruneOptions& options, const ActivationGrids* int8 = nullptr);

}  // namespace sparrow::compression
