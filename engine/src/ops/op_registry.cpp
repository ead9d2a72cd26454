#include "ops/op_registry.h"

#include <algorithm>
#include <map>

#include "ops/op_families.h"
#include "sparrow/error.h"

namespace sparrow::ops {

const graph::Value& InferContext::value(size_t i) const {
  if (!has_input(i)) invalid("input " + std::to_string(i) + " is missing");
  const graph::Value& v = graph_.values[node_.inputs[i]];
  if (!v.typed) invalid("input '" + v.name + "' has no known type");
  return v;
}

DType InferContext::dtype(size_t i) const { return value(i).dtype; }
const Shape& InferContext::shape(size_t i) const { return value(i).shape; }

const Tensor* InferContext::constant(size_t i) const {
  if (!has_input(i)) return nullptr;
  const graph::Value& v = value(i);
  return v.constant ? &*v.constant : nullptr;
}

std::vector<int64_t> InferContext::constant_ints(size_t i, const char* what) const {
  const Tensor* t = constant(i);
  if (!t) {
    unsupported(std::string("input '") + what +
                "' is computed at run time; Sparrow compiles static shapes and needs it at compile time");
  }
  if (t->dtype() == DType::kFloat32) invalid(std::string("input '") + what + "' must be integer");
  return t->to_int64_vector();
}

void InferContext::invalid(const std::string& why) const { throw Error(ErrorCode::kInvalidModel, why); }
void InferContext::unsupported(const std::string& why) const { throw Error(ErrorCode::kUnsupported, why); }

void InferContext::expect_inputs(size_t min, size_t max) const {
  if (num_inputs() < min || num_inputs() > max) {
    invalid("expects " + std::to_string(min) + (min == max ? "" : " to " + std::to_string(max)) +
            " inputs, has " + std::to_string(num_inputs()));
  }
  for (size_t i = 0; i < min; ++i) {
    if (!has_input(i)) invalid("required input " + std::to_string(i) + " is missing");
  }
}

void InferContext::expect_dtype(size_t i, std::initializer_list<DType> allowed) const {
  DType d = dtype(i);
  if (std::find(allowed.begin(), allowed.end(), d) != allowed.end()) return;
  unsupported(std::string("input ") + std::to_string(i) + " has dtype " + dtype_name(d) +
              ", which this op does not support here");
}

int64_t normalize_axis(int64_t axis, int64_t rank, const char* what) {
  if (axis < -rank || axis >= rank) {
    throw Error(ErrorCode::kInvalidModel, std::string(what) + " " + std::to_string(axis) +
                                              " is out of range for rank " + std::to_string(rank));
  }
  return axis < 0 ? axis + rank : axis;
}

namespace {

const std::map<std::string, OpDef>& registry() {
  static const std::map<std::string, OpDef> ops = [] {
    std::vector<OpDef> list;
    register_binary_ops(list);
    register_unary_ops(list);
    register_activation_ops(list);
    register_shape_ops(list);
    register_data_movement_ops(list);
    register_conv_ops(list);
    register_pool_ops(list);
    register_resize_ops(list);
    register_quant_ops(list);
    register_qlinear_conv_ops(list);
    register_qlinear_binary_ops(list);
    register_qlinear_unary_ops(list);
    register_qlinear_concat_ops(list);
    register_matmul_ops(list);
    register_integer_matmul_ops(list);
    register_conv_integer_ops(list);
    register_lookup_table_ops(list);
    register_segmented_elementwise_ops(list);
    register_conv_segmented_ops(list);
    std::map<std::string, OpDef> by_name;
    for (OpDef& def : list) by_name[def.name] = std::move(def);
    return by_name;
  }();
  return ops;
}

}  // namespace

const OpDef* find_op(const std::string& name) {
  auto it = registry().find(name);
  return it == registry().end() ? nullptr : &it->second;
}

const OpDef* find_op(const std::string& domain, const std::string& name) {
  const OpDef* def = find_op(name);
  const std::string wanted = domain == "ai.onnx" ? std::string() : domain;
  return def && def->domain == wanted ? def : nullptr;
}

std::vector<std::string> ops_of_domain(const std::string& domain) {
  std::vector<std::string> names;
  for (const auto& [name, def] : registry()) {
    if (def.domain == domain) names.push_back(name);
  }
  return names;
}

}  // namespace sparrow::ops
