// ConvSegmented, an internal op made by passes/fuse_conv_segmented: a 1x1 stride-1 convolution
// (Conv, or QLinearConv with a float output) whose result a SegmentedElementwise reads through a
// reshape, in one node. YOLOv5's Detect convs write 255 floats per pixel that only the decode
// reads, once: fused, each band of pixels is decoded while the conv's output for it is still in
// L2, and the head's floats cross memory once instead of three times.
//
// Inputs: the conv's (kConvInputsAttr of them), then the SegmentedElementwise's constants.
// Attributes: the conv's, the SegmentedElementwise's (segmented_elementwise.h), kConvOpAttr and
// kViewAttr; the names do not collide.
#pragma once

#include <cstdint>
#include <vector>

#include "graph/graph.h"
#include "ops/segmented_elementwise.h"

namespace sparrow::ops {

inline constexpr const char* kConvOpAttr = "sparrow.conv_op";          // "Conv" | "QLinearConv"
inline constexpr const char* kConvInputsAttr = "sparrow.conv_inputs";  // how many leading inputs are the conv's
inline constexpr const char* kViewAttr = "sparrow.view";               // the conv output's shape as the segments read it

// Whether a conv with these attributes and weights computes each output pixel from its input
// pixel alone (1x1, stride 1, unpadded, ungrouped): what lets it run band by band of pixels.
bool pointwise_conv(const graph::Attributes& attrs, const Shape& weights);
// The conv alone: its op, the node's attributes and leading inputs, writing `output`.
graph::Node inner_conv(const graph::Node& node, int output = graph::kNoValue);
// The SegmentedElementwise alone, its input 0 absent: the node's attributes and trailing inputs.
graph::Node inner_segments(const graph::Node& node);
// The segments' plan over the conv's output seen as kViewAttr, whose element strides are
// `strides` (row-major when empty). Throws kInvalidModel naming what does not fit.
SegmentPlan conv_segment_plan(const graph::Node& node, const Shape& conv_output, const std::vector<int64_t>& operand_sizes,
                              std::vector<int64_t> strides = {});

}  // namespace sparrow::ops
