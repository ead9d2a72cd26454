// LookupTable nodes (ops/lookup_table_ops.cpp) for the passes that replace a function of one
// 8-bit value with its table: the table, found by evaluating the nodes that compute the function
// on every byte, and the node that reads it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace sparrow::passes {

// The values of g's value `y` (8-bit) for each byte of g's 8-bit value `x` (entry i for the byte
// i), computed by copies of `nodes` (topologically ordered; they may be edited copies of g's
// nodes) that read only x, each other's outputs and one-element constants of g. nullopt when y is
// no such function or evaluating it fails: the caller then leaves the nodes alone.
std::optional<Tensor> tabulate(const graph::Graph& g, const std::vector<graph::Node>& nodes, int x, int y);

// A LookupTable node computing `y` from `x`, its table a new constant of g.
graph::Node lookup_table_node(graph::Graph& g, const std::string& name, int x, const Tensor& table, int y);

}  // namespace sparrow::passes
