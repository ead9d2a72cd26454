#include "runtime/kernel_choices.h"

#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "sparrow/error.h"

namespace sparrow::runtime {
namespace {

// FNV-1a, 64 bits: the key only has to tell layers apart, not resist an adversary.
class Hash {
 public:
  void bytes(const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) h_ = (h_ ^ p[i]) * 0x100000001b3ULL;
  }
  void text(const std::string& s) {
    bytes(s.data(), s.size());
    bytes("", 1);  // a separator, so that "ab","c" and "a","bc" differ
  }
  void number(int64_t v) { bytes(&v, sizeof v); }
  void shape(const Shape& s) {
    number(static_cast<int64_t>(s.size()));
    for (int64_t d : s) number(d);
  }
  uint64_t value() const { return h_; }

 private:
  uint64_t h_ = 0xcbf29ce484222325ULL;
};

void hash_value(Hash& h, const graph::Value& v) {
  h.number(static_cast<int64_t>(v.dtype));
  h.shape(v.shape);
  if (v.constant) h.bytes(v.constant->data(), v.constant->bytes());
}

[[noreturn]] void bad_line(const std::string& path, int line, const std::string& why) {
  throw Error(ErrorCode::kInvalidArgument, "kernel choices file " + path + ", line " + std::to_string(line) + ": " + why);
}

}  // namespace

KernelChoices::KernelChoices(std::string path) : path_(std::move(path)) {
  if (path_.empty()) return;
  std::ifstream in(path_);
  std::string text;
  for (int line = 1; std::getline(in, text); ++line) {
    if (text.empty() || text[0] == '#') continue;
    std::istringstream fields(text);
    std::string key, row, node;
    fields >> key >> row;
    std::getline(fields >> std::ws, node);
    if (row.empty()) bad_line(path_, line, "expected '<key> <row> <node>'");
    char* end = nullptr;
    const uint64_t k = std::strtoull(key.c_str(), &end, 16);
    if (key.size() != 16 || *end != '\0') bad_line(path_, line, "the key '" + key + "' is not 16 hex digits");
    entries_[k] = {row, node};
  }
}

uint64_t KernelChoices::key(const kernels::SelectContext& ctx, const std::vector<std::string>& rows, int num_cores,
                            const std::string& isa) {
  Hash h;
  h.text(ctx.node.op);
  h.text(ctx.node.name);
  for (size_t i = 0; i < ctx.node.inputs.size(); ++i) {
    if (!ctx.has_input(i)) {
      h.number(-1);
      continue;
    }
    hash_value(h, ctx.input(i));
    h.text(i < ctx.available.size() ? kernels::layout_name(ctx.available[i]) : "");
  }
  for (size_t i = 0; i < ctx.node.outputs.size(); ++i) hash_value(h, ctx.output(i));
  for (const std::string& row : rows) h.text(row);
  h.number(num_cores);
  h.text(isa);
  return h.value();
}

std::optional<std::string> KernelChoices::find(uint64_t key) const {
  const auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  return it->second.row;
}

void KernelChoices::record(uint64_t key, const std::string& row, const std::string& node) {
  if (path_.empty()) return;
  entries_[key] = {row, node};
  changed_ = true;
}

void KernelChoices::save() const {
  if (!changed_) return;
  const std::string temporary = path_ + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << "# sparrow kernel choices: <key> <row> <node>\n";
    for (const auto& [key, entry] : entries_) {
      char hex[17];
      std::snprintf(hex, sizeof hex, "%016" PRIx64, key);
      out << hex << ' ' << entry.row << ' ' << entry.node << '\n';
    }
    if (!out) {
      std::fprintf(stderr, "sparrow: could not write kernel choices to %s\n", temporary.c_str());
      return;
    }
  }
  if (std::rename(temporary.c_str(), path_.c_str()) != 0) {
    std::fprintf(stderr, "sparrow: could not replace kernel choices file %s\n", path_.c_str());
  }
}

}  // namespace sparrow::runtime
