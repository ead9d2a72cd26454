// The inputs of layer-wise compression (compress --method obs and --method lowrank): the
// convolutions to compress, visited one after another in graph order, each with the layer
// Hessian of the inputs that the calibration images give the model *as compressed so far*, so
// that a layer corrects what the layers before it lost.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

#include <onnx/onnx_pb.h>

#include "compression/layer_hessian.h"
#include "sparrow/compression/prune.h"

namespace sparrow::compression {

// Called once per layer, in graph order: `layer` indexes the `nodes` given. It may rewrite the
// initializers of that layer's Conv (and add a bias); the graph's nodes stay as they are until
// every layer has been visited.
using LayerVisitor = std::function<void(size_t layer, const LayerHessian& hessian)>;

// Visits the Convs at `nodes` (graph indices, in graph order) with their Hessians over the
// calibration images of `options` (letterboxed as detect does), also its seed, threads and
// progress callback. Convs whose inputs no conv still to visit feeds share one engine pass.
// sparrow::Error: an image that cannot be decoded, a conv the Hessian does not handle
// (kUnsupported: grouped, not 2-D, auto_pad).
void visit_layers_in_order(onnx::ModelProto& model, const std::vector<int>& nodes, const PruneOptions& options,
                           const LayerVisitor& visit);

}  // namespace sparrow::compression
