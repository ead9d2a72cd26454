#include "support/onnx_builder.h"

#include "onnx/tensor_proto.h"
#include "support/test_support.h"

#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <set>

namespace sparrow::test {
namespace {

int onnx_type(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return onnx::TensorProto::FLOAT;
    case DType::kUint8: return onnx::TensorProto::UINT8;
    case DType::kInt8: return onnx::TensorProto::INT8;
    case DType::kInt32: return onnx::TensorProto::INT32;
    case DType::kInt64: return onnx::TensorProto::INT64;
    case DType::kBool: return onnx::TensorProto::BOOL;
  }
  return 0;
}

void fill_tensor(onnx::TensorProto& proto, const std::string& name, const Tensor& t) {
  proto.set_name(name);
  proto.set_data_type(onnx_type(t.dtype()));
  for (int64_t d : t.shape()) proto.add_dims(d);
  proto.set_raw_data(std::string(static_cast<const char*>(t.data()), t.bytes()));
}

void fill_value_info(onnx::ValueInfoProto& info, const std::string& name, DType dtype, const Shape& shape) {
  info.set_name(name);
  auto* tt = info.mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx_type(dtype));
  auto* s = tt->mutable_shape();
  for (size_t i = 0; i < shape.size(); ++i) {
    auto* dim = s->add_dim();
    if (shape[i] < 0) dim->set_dim_param("d" + std::to_string(i));
    else dim->set_dim_value(shape[i]);
  }
}

}  // namespace

OnnxBuilder& OnnxBuilder::input(const std::string& name, DType dtype, const Shape& shape) {
  inputs_.push_back({name, {dtype, shape}});
  return *this;
}

OnnxBuilder& OnnxBuilder::output(const std::string& name, DType dtype, const Shape& shape) {
  outputs_.push_back({name, {dtype, shape}});
  return *this;
}

OnnxBuilder& OnnxBuilder::initializer(const std::string& name, const Tensor& value) {
  initializers_.push_back({name, value});
  return *this;
}

OnnxBuilder& OnnxBuilder::external_initializer(const std::string& name, const Tensor& value, const std::string& location) {
  external_.push_back({name, {value, location}});
  return *this;
}

OnnxBuilder& OnnxBuilder::node(const std::string& op, std::vector<std::string> inputs, std::vector<std::string> outputs,
                               std::vector<Attr> attrs, const std::string& name) {
  nodes_.push_back({op, name.empty() ? op + "_" + std::to_string(nodes_.size()) : name, "", std::move(inputs),
                    std::move(outputs), std::move(attrs)});
  return *this;
}

OnnxBuilder& OnnxBuilder::domain_node(const std::string& domain, const std::string& op, std::vector<std::string> inputs,
                                      std::vector<std::string> outputs, std::vector<Attr> attrs, const std::string& name) {
  node(op, std::move(inputs), std::move(outputs), std::move(attrs), name);
  nodes_.back().domain = domain;
  return *this;
}

OnnxBuilder& OnnxBuilder::metadata(const std::string& key, const std::string& value) {
  metadata_.push_back({key, value});
  return *this;
}

std::string OnnxBuilder::bytes() const {
  onnx::ModelProto model;
  model.set_ir_version(7);
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(opset_);
  std::set<std::string> domains;
  for (const NodeSpec& spec : nodes_) {
    if (spec.domain.empty() || !domains.insert(spec.domain).second) continue;
    auto* extra = model.add_opset_import();
    extra->set_domain(spec.domain);
    extra->set_version(1);
  }
  onnx::GraphProto* g = model.mutable_graph();
  g->set_name("test");
  for (const auto& [name, type] : inputs_) fill_value_info(*g->add_input(), name, type.first, type.second);
  for (const auto& [name, value] : initializers_) fill_tensor(*g->add_initializer(), name, value);
  for (const auto& [name, spec] : external_) {
    onnx::TensorProto* t = g->add_initializer();
    fill_tensor(*t, name, spec.first);
    t->clear_raw_data();
    t->set_data_location(onnx::TensorProto::EXTERNAL);
    auto* location = t->add_external_data();
    location->set_key("location");
    location->set_value(spec.second);
  }
  for (const NodeSpec& spec : nodes_) {
    onnx::NodeProto* n = g->add_node();
    n->set_op_type(spec.op);
    n->set_name(spec.name);
    if (!spec.domain.empty()) n->set_domain(spec.domain);
    for (const auto& i : spec.inputs) n->add_input(i);
    for (const auto& o : spec.outputs) n->add_output(o);
    for (const Attr& a : spec.attrs) {
      onnx::AttributeProto* p = n->add_attribute();
      p->set_name(a.name);
      switch (a.kind) {
        case Attr::Kind::kInt: p->set_type(onnx::AttributeProto::INT); p->set_i(a.i); break;
        case Attr::Kind::kFloat: p->set_type(onnx::AttributeProto::FLOAT); p->set_f(a.f); break;
        case Attr::Kind::kString: p->set_type(onnx::AttributeProto::STRING); p->set_s(a.s); break;
        case Attr::Kind::kInts:
          p->set_type(onnx::AttributeProto::INTS);
          for (int64_t v : a.ints) p->add_ints(v);
          break;
        case Attr::Kind::kFloats:
          p->set_type(onnx::AttributeProto::FLOATS);
          for (float v : a.floats) p->add_floats(v);
          break;
        case Attr::Kind::kTensor:
          p->set_type(onnx::AttributeProto::TENSOR);
          fill_tensor(*p->mutable_t(), "", a.tensor);
          break;
      }
    }
  }
  for (const auto& [name, type] : outputs_) {
    onnx::ValueInfoProto* info = g->add_output();
    if (!type.second.empty()) {
      fill_value_info(*info, name, type.first, type.second);
      continue;
    }
    info->set_name(name);
    info->mutable_type()->mutable_tensor_type()->set_elem_type(onnx_type(type.first));
  }
  for (const auto& [key, value] : metadata_) {
    auto* prop = model.add_metadata_props();
    prop->set_key(key);
    prop->set_value(value);
  }
  // The checker wants output shapes; ONNX's own inference supplies them.
  onnx::shape_inference::InferShapes(model);
  return model.SerializeAsString();
}

void conv_silu(OnnxBuilder& b, const std::string& name, const std::string& x, int64_t cin, int64_t cout, int64_t k,
               uint64_t seed) {
  b.initializer(name + ".w", random_tensor({cout, cin, k, k}, seed, -0.5f, 0.5f));
  b.initializer(name + ".b", random_tensor({cout}, seed + 1, -0.2f, 0.2f));
  const int64_t pad = k / 2;
  b.node("Conv", {x, name + ".w", name + ".b"}, {name}, {Attr::Ints("pads", {pad, pad, pad, pad})}, name + "/Conv");
  b.node("Sigmoid", {name}, {name + ".s"}, {}, name + "/Sigmoid");
  b.node("Mul", {name, name + ".s"}, {name + ".m"}, {}, name + "/Mul");
}

std::string small_pruning_model() {
  OnnxBuilder b(13);
  b.input("images", DType::kFloat32, {1, 3, 16, 16});
  conv_silu(b, "c1", "images", 3, 8, 3, 1);
  conv_silu(b, "c2", "c1.m", 8, 10, 3, 3);
  conv_silu(b, "c3", "c2.m", 10, 12, 1, 5);
  conv_silu(b, "c4", "c3.m", 12, 12, 3, 7);
  b.initializer("h.w", random_tensor({6, 12, 1, 1}, 9, -0.5f, 0.5f));
  b.node("Conv", {"c4.m", "h.w"}, {"h"}, {}, "head/Conv");
  b.node("Sigmoid", {"h"}, {"output"}, {}, "head/Sigmoid");
  b.output("output");
  return b.bytes();
}

std::map<std::string, Tensor> initializers_of(const std::string& path) {
  onnx::ModelProto m;
  EXPECT_TRUE(m.ParseFromString(read_binary_file(path))) << path;
  std::map<std::string, Tensor> out;
  for (const auto& init : m.graph().initializer()) out[init.name()] = onnx_import::tensor_from_proto(init, init.name());
  return out;
}

Tensor random_tensor(const Shape& shape, uint64_t seed, float lo, float hi) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  Tensor t(DType::kFloat32, shape);
  float* p = t.data_as<float>();
  for (int64_t i = 0; i < t.size(); ++i) p[i] = dist(rng);
  return t;
}

Tensor random_sparse_tensor(const Shape& shape, uint64_t seed, double sparsity) {
  Tensor t = random_tensor(shape, seed);
  std::mt19937_64 rng(seed ^ 0x5eed);
  std::bernoulli_distribution zero(sparsity);
  float* p = t.data_as<float>();
  for (int64_t i = 0; i < t.size(); ++i) {
    if (zero(rng)) p[i] = 0;
  }
  return t;
}

}  // namespace sparrow::test
