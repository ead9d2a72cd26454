#include "onnx/onnx_importer.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include "graph/onnx_dtype.h"
#include "onnx/tensor_proto.h"
#include "ops/op_registry.h"
#include "sparrow/error.h"

namespace sparrow::onnx_import {
namespace {

[[noreturn]] void invalid(const std::string& why) { throw Error(ErrorCode::kInvalidModel, why); }

onnx::ModelProto parse(const std::string& bytes) {
  if (bytes.empty()) invalid("the model is empty (0 bytes)");
  onnx::ModelProto model;
  if (!model.ParseFromString(bytes)) {
    invalid("the model is not a valid ONNX protobuf (" + std::to_string(bytes.size()) +
            " bytes could not be parsed; truncated or corrupt file?)");
  }
  if (!model.has_graph()) invalid("the model has no graph");
  return model;
}

bool is_default_domain(const std::string& domain) { return domain.empty() || domain == "ai.onnx"; }

// The opset version the model imports for each domain, ONNX's default one under "".
using Opsets = std::map<std::string, int>;

Opsets opsets_of(const onnx::ModelProto& model) {
  Opsets opsets;
  for (const auto& entry : model.opset_import()) {
    opsets[is_default_domain(entry.domain()) ? std::string() : entry.domain()] = static_cast<int>(entry.version());
  }
  auto it = opsets.find("");
  if (it == opsets.end()) invalid("the model imports no default-domain opset");
  if (it->second < kMinOpset || it->second > kMaxOpset) {
    throw Error(ErrorCode::kUnsupported, "opset " + std::to_string(it->second) + " is not supported (Sparrow accepts " +
                                             std::to_string(kMinOpset) + " to " + std::to_string(kMaxOpset) + ")");
  }
  return opsets;
}

// Only ONNX's checker sees untrusted models. ONNX 1.12's shape inference reads dims it has not
// checked (a ConvTranspose whose weights have the wrong rank crashes it; found by the fuzzer),
// so Sparrow's own inference, which validates every node, is the one that runs here; the tests
// hold it to ONNX's on trusted models.
void validate(const onnx::ModelProto& model) {
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    invalid(std::string("ONNX checker rejected the model: ") + e.what());
  }
}

graph::AttrValue convert_attribute(const onnx::AttributeProto& a, const std::string& what) {
  switch (a.type()) {
    case onnx::AttributeProto::INT: return a.i();
    case onnx::AttributeProto::FLOAT: return a.f();
    case onnx::AttributeProto::STRING: return a.s();
    case onnx::AttributeProto::INTS: return std::vector<int64_t>(a.ints().begin(), a.ints().end());
    case onnx::AttributeProto::FLOATS: return std::vector<float>(a.floats().begin(), a.floats().end());
    case onnx::AttributeProto::STRINGS: return std::vector<std::string>(a.strings().begin(), a.strings().end());
    case onnx::AttributeProto::TENSOR: return tensor_from_proto(a.t(), what);
    default:
      throw Error(ErrorCode::kUnsupported, what + ": attributes of this kind (graphs, sparse tensors, type "
                                                  "protos) are not supported");
  }
}

void add_input(graph::Graph& g, const onnx::ValueInfoProto& info) {
  const std::string what = "input '" + info.name() + "'";
  if (!info.type().has_tensor_type()) throw Error(ErrorCode::kUnsupported, what + " is not a tensor");
  const auto& tt = info.type().tensor_type();
  auto dtype = graph::dtype_from_onnx(tt.elem_type());
  if (!dtype) {
    throw Error(ErrorCode::kUnsupported,
                what + " has dtype " + graph::onnx_dtype_name(tt.elem_type()) + ", which is not supported");
  }
  int id = g.add_value(info.name());
  graph::Value& v = g.values[id];
  v.dtype = *dtype;
  v.typed = tt.has_shape();
  for (const auto& dim : tt.shape().dim()) v.shape.push_back(dim.has_dim_value() ? dim.dim_value() : -1);
  g.inputs.push_back(id);
}

// A node's op must be registered for the domain it names (ops/op_registry.h): ONNX's own ops,
// and onnxruntime's QOperator ops under com.microsoft. Any other op or domain is refused here,
// naming both, before anything reads its attributes.
void check_op_known(const graph::Node& node, const std::string& domain) {
  if (ops::find_op(domain, node.op)) return;
  if (is_default_domain(domain)) throw Error(ErrorCode::kUnsupported, node.label() + ": operator " + node.op + " is not supported");
  std::string why = node.label() + ": operator " + node.op + " of domain '" + domain + "' is not supported";
  const std::vector<std::string> known = ops::ops_of_domain(domain);
  for (size_t i = 0; i < known.size(); ++i) why += (i == 0 ? " (Sparrow runs " : ", ") + known[i];
  if (!known.empty()) why += " of that domain)";
  throw Error(ErrorCode::kUnsupported, why);
}

void add_node(graph::Graph& g, const onnx::NodeProto& proto, size_t index, const Opsets& opsets) {
  graph::Node node;
  node.op = proto.op_type();
  node.name = proto.name().empty() ? proto.op_type() + "_" + std::to_string(index) : proto.name();
  check_op_known(node, proto.domain());
  auto opset = opsets.find(is_default_domain(proto.domain()) ? std::string() : proto.domain());
  if (opset == opsets.end()) invalid(node.label() + ": the model imports no opset of domain '" + proto.domain() + "'");
  node.opset = opset->second;
  for (const auto& a : proto.attribute()) {
    node.attrs.set(a.name(), convert_attribute(a, node.label() + " attribute '" + a.name() + "'"));
  }
  for (const std::string& name : proto.input()) {
    if (name.empty()) {
      node.inputs.push_back(graph::kNoValue);
      continue;
    }
    int v = g.find_value(name);
    if (v < 0) invalid(node.label() + ": input '" + name + "' is not defined before the node");
    node.inputs.push_back(v);
  }
  const int node_index = static_cast<int>(g.nodes.size());
  for (const std::string& name : proto.output()) {
    // An omitted optional output still needs a value to keep output positions.
    int v = g.add_value(name.empty() ? g.unique_name(node.name + ":unused") : name);
    g.values[v].producer = node_index;
    node.outputs.push_back(v);
  }
  g.nodes.push_back(std::move(node));
}

// External weights are read in first: the checker then sees a self-contained model, and a
// missing weights file is reported as such.
void load_all_external_data(onnx::ModelProto& model, const std::string& base_dir) {
  onnx::GraphProto* g = model.mutable_graph();
  for (auto& init : *g->mutable_initializer()) load_external_data(init, base_dir, "initializer '" + init.name() + "'");
  for (auto& node : *g->mutable_node()) {
    for (auto& a : *node.mutable_attribute()) {
      if (a.has_t()) load_external_data(*a.mutable_t(), base_dir, "node '" + node.name() + "' attribute '" + a.name() + "'");
    }
  }
}

// The graph of a parsed model; `base_dir` resolves external weight files not yet read in.
graph::Graph import_proto(onnx::ModelProto model, const std::string& base_dir) {
  const Opsets opsets = opsets_of(model);
  load_all_external_data(model, base_dir);
  validate(model);
  const onnx::GraphProto& gp = model.graph();

  graph::Graph g;
  for (const auto& init : gp.initializer()) {
    g.add_constant(init.name(), tensor_from_proto(init, "initializer '" + init.name() + "'"));
  }
  for (const auto& input : gp.input()) {
    if (g.find_value(input.name()) >= 0) continue;  // an initializer with a default: a constant here
    add_input(g, input);
  }
  for (int i = 0; i < gp.node_size(); ++i) add_node(g, gp.node(i), static_cast<size_t>(i), opsets);
  for (const auto& output : gp.output()) {
    int v = g.find_value(output.name());
    if (v < 0) invalid("graph output '" + output.name() + "' is not computed by any node");
    g.outputs.push_back(v);
    g.output_names.push_back(output.name());
  }
  for (const auto& prop : model.metadata_props()) g.metadata[prop.key()] = prop.value();
  return g;
}

std::string file_bytes(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw Error(ErrorCode::kNotFound, "model file '" + path + "' does not exist");
  if (std::filesystem::is_directory(path, ec)) {
    throw Error(ErrorCode::kInvalidArgument, "model path '" + path + "' is a directory, not an ONNX file");
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) throw Error(ErrorCode::kIo, "cannot open model file '" + path + "'");
  std::stringstream buffer;
  buffer << file.rdbuf();
  return buffer.str();
}

std::string base_dir_of(const std::string& path) {
  const std::string base = std::filesystem::path(path).parent_path().string();
  return base.empty() ? "." : base;
}

}  // namespace

graph::Graph import_model(const std::string& bytes, const std::string& base_dir) { return import_proto(parse(bytes), base_dir); }

graph::Graph import_model_file(const std::string& path) {
  const std::string bytes = file_bytes(path);
  try {
    return import_model(bytes, base_dir_of(path));
  } catch (const Error& e) {
    throw Error(e.code(), "'" + path + "': " + e.what());
  }
}

onnx::ModelProto read_model_file(const std::string& path) {
  const std::string bytes = file_bytes(path);
  try {
    onnx::ModelProto model = parse(bytes);
    load_all_external_data(model, base_dir_of(path));
    return model;
  } catch (const Error& e) {
    throw Error(e.code(), "'" + path + "': " + e.what());
  }
}

}  // namespace sparrow::onnx_import
