// Where a convolution sits in the graph, found from the graph's structure alone (no names):
// YOLOv5's first conv reads the image, its Detect convs feed the outputs. Pruning keeps both
// dense and quantization keeps the head's activations float.
#pragma once

#include <set>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

namespace sparrow::compression {

// Indices of the convolutions whose outputs reach a graph output with no convolution between.
std::set<int> head_convs(const onnx::GraphProto& graph);
// Indices of the convolutions that read a graph input (not an initializer) with no convolution
// between.
std::set<int> input_convs(const onnx::GraphProto& graph);

// The names of the nodes that `--exclude` patterns name: each pattern is a node name or a shell
// glob over node names (`/model.1[0-9]/*`: fnmatch, where * also crosses /). sparrow::Error
// (kNotFound) for a pattern that matches no node.
std::set<std::string> excluded_nodes(const onnx::GraphProto& graph, const std::vector<std::string>& patterns);

}  // namespace sparrow::compression
