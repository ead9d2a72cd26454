#include "compression/broadcast_constants.h"

#include <cstring>
#include <vector>

#include "onnx/tensor_proto.h"

namespace sparrow::compression {
namespace {

constexpr int64_t kMinElements = 1024;  // smaller constants are not worth two more nodes

// `t` without `axis` when every slice along it equals the first (bit for bit); else empty.
Tensor drop_constant_axis(const Tensor& t, size_t axis) {
  const Shape& dims = t.shape();
  int64_t outer = 1, inner = 1;
  for (size_t a = 0; a < axis; ++a) outer *= dims[a];
  for (size_t a = axis + 1; a < dims.size(); ++a) inner *= dims[a];
  const size_t row = static_cast<size_t>(inner) * sizeof(float);
  const auto* src = static_cast<const char*>(t.data());
  for (int64_t o = 0; o < outer; ++o) {
    const char* first = src + static_cast<size_t>(o * dims[axis]) * row;
    for (int64_t k = 1; k < dims[axis]; ++k) {
      if (std::memcmp(first, first + static_cast<size_t>(k) * row, row) != 0) return {};
    }
  }
  Shape reduced = dims;
  reduced[axis] = 1;
  Tensor out(DType::kFloat32, reduced);
  for (int64_t o = 0; o < outer; ++o) {
    std::memcpy(static_cast<char*>(out.data()) + static_cast<size_t>(o) * row, src + static_cast<size_t>(o * dims[axis]) * row, row);
  }
  return out;
}

Tensor smallest_source(Tensor t) {
  for (size_t axis = 0; axis < t.shape().size(); ++axis) {
    if (t.shape()[axis] <= 1) continue;
    Tensor reduced = drop_constant_axis(t, axis);
    if (!reduced.empty()) t = std::move(reduced);
  }
  return t;
}

onnx::TensorProto to_proto(const Tensor& t, onnx::TensorProto::DataType type) {
  onnx::TensorProto p;
  p.set_data_type(type);
  for (int64_t d : t.shape()) p.add_dims(d);
  p.set_raw_data(std::string(static_cast<const char*>(t.data()), t.bytes()));
  return p;
}

onnx::NodeProto constant_node(const std::string& output, onnx::TensorProto value) {
  onnx::NodeProto n;
  n.set_op_type("Constant");
  n.set_name(output);
  n.add_output(output);
  onnx::AttributeProto* a = n.add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::TENSOR);
  *a->mutable_t() = std::move(value);
  return n;
}

// The Constant node's float value, when it is one large enough to consider.
const onnx::TensorProto* large_float_value(const onnx::NodeProto& node) {
  if (node.op_type() != "Constant" || node.attribute_size() != 1 || node.attribute(0).name() != "value") return nullptr;
  const onnx::TensorProto& value = node.attribute(0).t();
  int64_t elements = 1;
  for (int64_t d : value.dims()) elements *= d;
  return value.data_type() == onnx::TensorProto::FLOAT && elements >= kMinElements ? &value : nullptr;
}

}  // namespace

void factor_broadcast_constants(onnx::GraphProto& graph) {
  std::vector<onnx::NodeProto> nodes;
  for (const onnx::NodeProto& node : graph.node()) {
    const onnx::TensorProto* value = large_float_value(node);
    if (!value) {
      nodes.push_back(node);
      continue;
    }
    const Tensor full = onnx_import::tensor_from_proto(*value, "constant '" + node.output(0) + "'");
    const Tensor source = smallest_source(full.clone());
    if (source.size() * 2 > full.size()) {
      nodes.push_back(node);
      continue;
    }
    const std::string& out = node.output(0);
    std::vector<int64_t> shape(full.shape().begin(), full.shape().end());
    Tensor shape_tensor(DType::kInt64, {static_cast<int64_t>(shape.size())});
    std::memcpy(shape_tensor.data(), shape.data(), shape.size() * sizeof(int64_t));
    nodes.push_back(constant_node(out + "_source", to_proto(source, onnx::TensorProto::FLOAT)));
    nodes.push_back(constant_node(out + "_shape", to_proto(shape_tensor, onnx::TensorProto::INT64)));
    onnx::NodeProto expand;
    expand.set_op_type("Expand");
    expand.set_name(node.name());
    expand.add_input(out + "_source");
    expand.add_input(out + "_shape");
    expand.add_output(out);
    nodes.push_back(std::move(expand));
  }
  graph.clear_node();
  for (onnx::NodeProto& node : nodes) *graph.add_node() = std::move(node);
}

}  // namespace sparrow::compression
