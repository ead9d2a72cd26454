#include "graph/attributes.h"

#include "sparrow/error.h"

namespace sparrow::graph {

std::vector<std::string> Attributes::names() const {
  std::vector<std::string> out;
  for (const auto& [name, value] : values_) out.push_back(name);
  return out;
}

template <typename T>
const T* Attributes::find(const std::string& name, const char* kind) const {
  auto it = values_.find(name);
  if (it == values_.end()) return nullptr;
  const T* value = std::get_if<T>(&it->second);
  if (!value) throw Error(ErrorCode::kInvalidModel, "attribute '" + name + "' is not " + kind);
  return value;
}

int64_t Attributes::get_int(const std::string& name, int64_t fallback) const {
  const int64_t* v = find<int64_t>(name, "an int");
  return v ? *v : fallback;
}

float Attributes::get_float(const std::string& name, float fallback) const {
  const float* v = find<float>(name, "a float");
  return v ? *v : fallback;
}

std::string Attributes::get_string(const std::string& name, const std::string& fallback) const {
  const std::string* v = find<std::string>(name, "a string");
  return v ? *v : fallback;
}

std::vector<int64_t> Attributes::get_ints(const std::string& name,
                                          const std::vector<int64_t>& fallback) const {
  const auto* v = find<std::vector<int64_t>>(name, "a list of ints");
  return v ? *v : fallback;
}

std::vector<float> Attributes::get_floats(const std::string& name, const std::vector<float>& fallback) const {
  const auto* v = find<std::vector<float>>(name, "a list of floats");
  return v ? *v : fallback;
}

const Tensor* Attributes::get_tensor(const std::string& name) const { return find<Tensor>(name, "a tensor"); }

}  // namespace sparrow::graph
