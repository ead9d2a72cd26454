// Graph -> graph rewrites, run in the order optimize() lists them. Each is small, has its own
// unit test on a hand-built graph, and keeps the graph's meaning.
#pragma once

#include <cstdint>

#include "graph/graph.h"
#include "ops/fused_attrs.h"
#include "sparrow/engine.h"

namespace sparrow::passes {

// What bind_inputs decided about the batch dimension, for rewriting hardcoded batch sizes.
struct BatchRewrite {
  int64_t from = 1;  // the batch written in the file (1 when dynamic)
  int64_t to = 1;    // the batch being compiled
};

// Fixes every runtime input's shape from the options (dynamic dims must be resolved) and turns
// frozen inputs into constants.
BatchRewrite bind_inputs(graph::Graph& g, const CompileOptions& options);
// Infers every value's type and shape, evaluating nodes whose inputs are all constant. Reshapes
// that hardcode the file's batch are rewritten to the compiled one. An input or value of more
// than max_value_bytes (0: no limit) is kResourceExhausted as soon as its shape is known.
void infer_and_fold(graph::Graph& g, const BatchRewrite& batch, size_t max_value_bytes = 0);
// Identity nodes become aliases of their input.
void remove_identities(graph::Graph& g);
// Mul(x, Sigmoid(x)) -> Silu(x).
void fuse_silu(graph::Graph& g);
// An elementwise activation (Sigmoid, Relu, Silu, Tanh) after Reshape/Transpose/Flatten/
// Squeeze/Unsqueeze moves before them: they commute, and next to the producing conv the
// activation fuses into it. YOLOv5's Detect sigmoid sits after a Reshape and a Transpose.
void hoist_activations(graph::Graph& g);
// Conv followed by Silu, Relu or Sigmoid -> Conv with the activation as an attribute.
void fuse_conv_activation(graph::Graph& g);
// DequantizeLinear -> Conv [+activation] -> QuantizeLinear, with per-tensor u8 activations and
// symmetric int8 weights (per tensor or per output channel), -> one QLinearConv on the integers:
// activations stay 8-bit between such convs, and the INT8 kernels run them. Without the
// QuantizeLinear (a float output, as YOLOv5's Detect convs have) the QLinearConv gives the float
// result itself (ops::kFloatOutputAttr), so the u8 input needs no float copy.
void fuse_qdq_conv(graph::Graph& g);
// MaxPool, nearest Resize/Upsample and Concat between DequantizeLinear and QuantizeLinear of one
// per-tensor u8 grid run on the integers: they only move values, so the result is the same bytes.
// Concat inputs on other u8 grids are first requantized to the output's, each by one LookupTable.
void fuse_qdq_passthrough(graph::Graph& g);
// DequantizeLinear(a) + DequantizeLinear(b) -> QuantizeLinear, all per-tensor u8 and of one
// shape, -> QLinearAdd on the integers (YOLOv5's residual adds).
void fuse_qdq_add(graph::Graph& g);
// QuantizeLinear of a region of elementwise ops (Q, DQ, Sigmoid, Mul...) whose one non-constant
// input is an 8-bit value x -> one LookupTable of x's 256 bytes: YOLOv5's quantized SiLU, and
// requantizations, stay 8-bit. Runs after the other QDQ passes, which claim their patterns first.
void fuse_qdq_lut(graph::Graph& g);
// QLinearConv -> LookupTable of its output alone -> the QLinearConv with the table as input 9
// (ops::kTableAttr), applied to each output byte as the conv writes it.
void fuse_conv_lookup(graph::Graph& g);
// Add(Conv(...), r) -> Conv with r as its residual input, added after the activation.
void fuse_conv_residual(graph::Graph& g);
// Split along the last axis -> per output a chain of Add/Sub/Mul/Div/Pow with constants ->
// Concat of the chains' ends, in order -> one SegmentedElementwise: one pass over the tensor
// instead of one per node (YOLOv5's Detect decode).
void fuse_segmented_elementwise(graph::Graph& g);
// Conv or float-output QLinearConv (1x1, stride 1, unpadded, ungrouped) -> [Reshape that only
// splits the channels] -> SegmentedElementwise -> one ConvSegmented (ops/conv_segmented.h), run
// band by band of pixels: YOLOv5's Detect convs and their decode.
void fuse_conv_segmented(graph::Graph& g);
// Moves each DequantizeLinear of a computed tensor to just before its first consumer. QDQ files
// put it right after the quantized producer, which can be long before the float consumer
// (YOLOv5's Detect convs read the three scales only at the end): moved, the 4x larger float
// copy lives only while it is read, and the 8-bit tensor is what waits.
void sink_dequantize(graph::Graph& g);
// Removes nodes whose outputs nobody reads.
void eliminate_dead_nodes(graph::Graph& g);

// The whole pipeline, from a freshly imported graph to one ready for kernel selection.
void optimize(graph::Graph& g, const CompileOptions& options);

}  // namespace sparrow::passes
