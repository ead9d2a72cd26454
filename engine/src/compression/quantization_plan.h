// Which parts of a float graph become INT8, decided on the ONNX graph before calibration.
//
// Convolutions are quantized unless excluded. Those of the head (whose outputs reach a graph
// output without another convolution between) get s8 weights but keep float activations: the
// decode after them (sigmoid, grid and anchor arithmetic) and the scores stay float. From their
// inputs and outputs quantization spreads forward through ops that keep an 8-bit tensor 8-bit:
// SiLU (x * Sigmoid(x), quantized once at the Mul), other elementwise activations (Relu,
// LeakyRelu, HardSwish, Clip...), Add and Mul of two quantized tensors, Concat of quantized
// tensors, and MaxPool and nearest Resize, whose outputs share their input's grid because they
// only move values. This is the layout ONNX Runtime's own QDQ quantizer writes, but for SiLU's
// sigmoid, which that quantizer rounds to 8 bits too.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

namespace sparrow::compression {

struct QuantizationPlan {
  std::vector<std::string> calibrated;                // tensors that get a grid of their own
  std::map<std::string, std::string> shares_grid_of;  // tensor -> the tensor whose grid it reuses
  std::vector<int> int8_convs;                        // node indices
  std::vector<int> weight_only_convs;                 // node indices: s8 weights, float activations
  std::vector<std::string> int8_nodes;                // names of every node that runs on integers
  std::vector<std::string> float_convs;               // names of the convolutions with float activations
};

// kInvalidArgument when the graph is quantized already; kNotFound for an `exclude` name that
// names no node.
QuantizationPlan plan_quantization(const onnx::GraphProto& graph, const std::vector<std::string>& exclude);

}  // namespace sparrow::compression
