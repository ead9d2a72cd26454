// Node attributes: ONNX's attribute kinds, looked up by name with defaults.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "sparrow/tensor.h"

namespace sparrow::graph {

using AttrValue = std::variant<int64_t, float, std::string, std::vector<int64_t>, std::vector<float>,
                               std::vector<std::string>, Tensor>;

class Attributes {
 public:
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  void set(const std::string& name, AttrValue value) { values_[name] = std::move(value); }
  void erase(const std::string& name) { values_.erase(name); }
  std::vector<std::string> names() const;

  // Each getter returns the fallback when the attribute is absent and throws kInvalidModel when
  // it is present with another kind.
  int64_t get_int(const std::string& name, int64_t fallback) const;
  float get_float(const std::string& name, float fallback) const;
  std::string get_string(const std::string& name, const std::string& fallback) const;
  std::vector<int64_t> get_ints(const std::string& name, const std::vector<int64_t>& fallback = {}) const;
  std::vector<float> get_floats(const std::string& name, const std::vector<float>& fallback = {}) const;
  const Tensor* get_tensor(const std::string& name) const;

 private:
  template <typename T>
  const T* find(const std::string& name, const char* kind) const;

  std::map<std::string, AttrValue> values_;
};

}  // namespace sparrow::graph
