// compress --method obs over a whole model: convolutions pruned one after another in graph
// order, each on the inputs that the calibration images give the model as pruned so far.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "compression/quantize_model.h"
#include "sparrow/compression/prune.h"

namespace sparrow::compression {

struct ObsLayer {
  int node = 0;                     // the Conv's index in the graph
  LayerSparsity* report = nullptr;  // gets its output errors
};

// Prunes each of `layers` (in graph order) with SparseGPT and corrects its bias, rewriting the
// initializers of `model` in place (a bias initializer is added to a conv without one).
// sparrow::Error: no calibration images (kInvalidArgument), an image that cannot be decoded, a
// conv the method does not handle (kUnsupported: grouped, not 2-D, auto_pad).
// With `int8`, each layer sees its inputs rounded to their INT8 grids, GPTQ then rounds its kept
// weights to INT8, and `int8_steps` gets each weight's per-channel steps.
void prune_by_obs(onnx::ModelProto& model, const std::vector<ObsLayer>& layers, const PruneOptions& options,
                  const ActivationGrids* int8, std::map<std::string, std::vector<float>>& int8_steps);

}  // namespace sparrow::compression
