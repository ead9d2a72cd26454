#include "kserve_tensors.h"

#include <cstring>

#include "client_text.h"

namespace sparrow::server {
namespace {

// Far beyond any message gRPC accepts; keeps products of client-given dims from overflowing.
constexpr int64_t kMaxElements = int64_t{1} << 40;

uint32_t read_le32(const char* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  return uint32_t{b[0]} | uint32_t{b[1]} << 8 | uint32_t{b[2]} << 16 | uint32_t{b[3]} << 24;
}

template <typename T>
void copy_into(google::protobuf::RepeatedField<T>* field, const std::string& bytes) {
  field->Resize(static_cast<int>(bytes.size() / sizeof(T)), T{});
  std::memcpy(field->mutable_data(), bytes.data(), bytes.size() / sizeof(T) * sizeof(T));
}

}  // namespace

std::string shape_text(const KServeShape& shape) {
  std::string s = "[";
  for (int i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return clipped(s + "]");
}

std::optional<int64_t> element_count(const KServeShape& shape) {
  int64_t n = 1;
  for (int64_t dim : shape) {
    if (dim < 0 || (dim > 0 && n > kMaxElements / dim)) return std::nullopt;
    n *= dim;
  }
  return n;
}

std::optional<std::vector<std::string_view>> split_length_prefixed(std::string_view raw) {
  std::vector<std::string_view> elements;
  size_t at = 0;
  while (at < raw.size()) {
    if (raw.size() - at < 4) return std::nullopt;
    const size_t length = read_le32(raw.data() + at);
    at += 4;
    if (raw.size() - at < length) return std::nullopt;
    elements.emplace_back(raw.data() + at, length);
    at += length;
  }
  return elements;
}

void add_output(inference::ModelInferResponse* response, const std::string& name, const std::string& datatype,
                const std::vector<int64_t>& shape, std::string&& bytes, bool raw) {
  auto* out = response->add_outputs();
  out->set_name(name);
  out->set_datatype(datatype);
  for (int64_t dim : shape) out->add_shape(dim);
  if (raw) {
    response->add_raw_output_contents()->swap(bytes);
  } else if (datatype == "FP32") {
    copy_into(out->mutable_contents()->mutable_fp32_contents(), bytes);
  } else {
    copy_into(out->mutable_contents()->mutable_int_contents(), bytes);
  }
}

}  // namespace sparrow::server
