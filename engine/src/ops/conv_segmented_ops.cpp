// ConvSegmented (conv_segmented.h): its inference and reference, the conv's and then the
// segments', so that it means exactly what the two nodes it replaces meant.
#include <algorithm>
#include <string>
#include <vector>

#include "ops/conv_segmented.h"
#include "ops/op_families.h"
#include "sparrow/error.h"

namespace sparrow::ops {
namespace {

size_t conv_inputs(const graph::Node& node) {
  const int64_t n = node.attrs.get_int(kConvInputsAttr, 0);
  if (n < 2 || n > static_cast<int64_t>(node.inputs.size())) {
    throw Error(ErrorCode::kInvalidModel, node.label() + ": " + kConvInputsAttr + " does not count the conv's inputs");
  }
  return static_cast<size_t>(n);
}

const OpDef& conv_op(const graph::Node& node) {
  const std::string op = node.attrs.get_string(kConvOpAttr, "");
  if (op != "Conv" && op != "QLinearConv") {
    throw Error(ErrorCode::kInvalidModel, node.label() + ": " + kConvOpAttr + " is not Conv or QLinearConv");
  }
  return *find_op(op);
}

std::vector<TypeShape> infer_conv_segmented(const InferContext& ctx) {
  const graph::Node conv = inner_conv(ctx.node());
  const std::vector<TypeShape> y = conv_op(ctx.node()).infer(InferContext(ctx.graph(), conv));
  if (y.size() != 1 || y[0].dtype != DType::kFloat32) ctx.invalid("the conv's output is not float");
  std::vector<int64_t> sizes;
  for (size_t i = conv.inputs.size(); i < ctx.num_inputs(); ++i) {
    ctx.expect_dtype(i, {DType::kFloat32});
    sizes.push_back(num_elements(ctx.shape(i)));
  }
  conv_segment_plan(ctx.node(), y[0].shape, sizes);
  const Shape view = ctx.attrs().get_ints(kViewAttr);
  return {{DType::kFloat32, segmented_output_shape(inner_segments(ctx.node()), view)}};
}

// The conv's output shape, as the view keeps it (conv_segment_plan checks that it does).
Shape conv_shape(const Shape& view) {
  int64_t channels = 1;
  for (size_t d = 1; d + 2 < view.size(); ++d) channels *= view[d];
  return {view[0], channels, view[view.size() - 2], view.back()};
}

void eval_conv_segmented(const graph::Node& node, const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
  const size_t n = conv_inputs(node);
  Tensor y(DType::kFloat32, conv_shape(node.attrs.get_ints(kViewAttr)));
  conv_op(node).evaluate(inner_conv(node), {in.begin(), in.begin() + static_cast<std::ptrdiff_t>(n)}, {TensorView::of(y)});
  std::vector<int64_t> sizes;
  std::vector<SegmentOperand> operands;
  for (size_t i = n; i < in.size(); ++i) {
    sizes.push_back(in[i].size());
    operands.push_back({in[i].as<float>(), in[i].size()});
  }
  const SegmentPlan plan = conv_segment_plan(node, y.shape(), sizes);
  run_segments(plan, y.data_as<float>(), operands, out[0].as<float>(), 0, plan.rows);
}

}  // namespace

bool pointwise_conv(const graph::Attributes& attrs, const Shape& weights) {
  const auto all = [](const std::vector<int64_t>& v, int64_t value) {
    return std::all_of(v.begin(), v.end(), [&](int64_t x) { return x == value; });
  };
  const std::string auto_pad = attrs.get_string("auto_pad", "NOTSET");
  return weights.size() == 4 && weights[2] == 1 && weights[3] == 1 && attrs.get_int("group", 1) == 1 &&
         all(attrs.get_ints("strides"), 1) && all(attrs.get_ints("pads"), 0) && (auto_pad == "NOTSET" || auto_pad == "VALID");
}

graph::Node inner_conv(const graph::Node& node, int output) {
  graph::Node conv = node;
  conv.op = node.attrs.get_string(kConvOpAttr, "");
  conv.inputs.resize(conv_inputs(node));
  conv.outputs = {output};
  return conv;
}

graph::Node inner_segments(const graph::Node& node) {
  graph::Node segments = node;
  segments.op = "SegmentedElementwise";
  segments.inputs = {graph::kNoValue};
  segments.inputs.insert(segments.inputs.end(), node.inputs.begin() + static_cast<std::ptrdiff_t>(conv_inputs(node)), node.inputs.end());
  return segments;
}

SegmentPlan conv_segment_plan(const graph::Node& node, const Shape& conv_output, const std::vector<int64_t>& operand_sizes,
                              std::vector<int64_t> strides) {
  const Shape view = node.attrs.get_ints(kViewAttr);
  const auto bad = [&](const std::string& why) { throw Error(ErrorCode::kInvalidModel, node.label() + ": " + why); };
  if (conv_output.size() != 4 || view.size() < 4) bad("needs a 4-D conv and a view of rank 4 or more");
  if (conv_shape(view) != conv_output) {
    bad("the view " + shape_string(view) + " does not keep the conv output's batch and pixels " + shape_string(conv_output));
  }
  return segment_plan(inner_segments(node), view, operand_sizes, std::move(strides));
}

void register_conv_segmented_ops(std::vector<OpDef>& ops) {
  ops.push_back({"ConvSegmented", infer_conv_segmented, eval_conv_segmented});
}

}  // namespace sparrow::ops
