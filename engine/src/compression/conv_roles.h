// Where a convolution sits in the graph, found from the graph's structure alone (no names):
// YOLOv5's first conv reads the image, its Detect convs feed the outputs. Pruning keeps both
// dense and quantization keeps the head's activations float.
#pragma once

#include <set>

#include <onnx/onnx_pb.h>

namespace sparrow::compression {

// Indices of the convolutions whose outputs reach a graph output with no convolution between.
std::set<int> head_convs(const onnx::GraphProto& graph);
// Indices of the convolutions that read a graph input (not an initializer) with no convolution
// between.
std::set<int> input_convs(const onnx::GraphProto& graph);

}  // namespace sparrow::compression
