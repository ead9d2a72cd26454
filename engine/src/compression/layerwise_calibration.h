// The inputs of layer-wise compression (compress --method obs and --method lowrank): the
// convolutions to compress, visited one after another in graph order, each with the layer
// Hessian of the inputs that the calibration images give the model *as compressed so far*, so
// that a layer corrects what the layers before it lost, and with the cross moment of the inputs
// the same images give the dense model, so that it can aim at the dense model's output.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "compression/activation_range.h"
#include "compression/layer_hessian.h"
#include "sparrow/compression/prune.h"
#include "sparrow/tensor.h"

namespace sparrow::compression {

// The calibration images of `options`, letterboxed once to the model's input (as detect does).
// sparrow::Error: an image that cannot be decoded.
struct CalibrationInputs {
  std::vector<Tensor> images;
  std::string input_name;
  // The grids of an INT8 model's activations: where a layer's input has one, the layer sees it
  // rounded as the INT8 model will (and so does everything computed from it).
  std::map<std::string, U8Grid> rounded_to;
};
CalibrationInputs load_calibration_inputs(const onnx::ModelProto& model, const PruneOptions& options);

// Called once per layer, in graph order: `layer` indexes the `nodes` given. It may rewrite the
// initializers of that layer's Conv (and add a bias); the graph's nodes stay as they are until
// every layer has been visited.
using LayerVisitor = std::function<void(size_t layer, const LayerHessian& hessian)>;

// Whether each Hessian also carries the cross moment with the model as it is on entry, which
// costs a second run of that model.
enum class DenseInputs { kSkip, kCollect };

// Visits the Convs at `nodes` (graph indices, in graph order) with their Hessians over `inputs`,
// with the seed and threads of `options`. Convs whose inputs no conv still to visit feeds share
// one engine pass. sparrow::Error: a conv the Hessian does not handle (kUnsupported: grouped,
// not 2-D, auto_pad).
void visit_layers_in_order(onnx::ModelProto& model, const std::vector<int>& nodes, const CalibrationInputs& inputs,
                           const PruneOptions& options, DenseInputs dense, const LayerVisitor& visit);

}  // namespace sparrow::compression
