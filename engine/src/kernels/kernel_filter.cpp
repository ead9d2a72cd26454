#include "kernels/kernel_filter.h"

#include "sparrow/error.h"

namespace sparrow::kernels {

// Iterative with one backtrack point per '*' seen, linear for the short names here.
bool glob_match(std::string_view pattern, std::string_view name) {
  size_t p = 0, n = 0, star = std::string_view::npos, resume = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = n;
    } else if (p < pattern.size() && pattern[p] == name[n]) {
      ++p;
      ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

KernelFilter KernelFilter::parse(const std::string& spec, const std::vector<std::string>& known,
                                 const std::string& source) {
  KernelFilter f;
  size_t start = 0;
  while (start <= spec.size() && !spec.empty()) {
    const size_t comma = std::min(spec.find(',', start), spec.size());
    std::string item = spec.substr(start, comma - start);
    start = comma + 1;
    const bool deny = !item.empty() && item[0] == '-';
    const std::string pattern = deny ? item.substr(1) : item;
    if (pattern.empty()) {
      throw Error(ErrorCode::kInvalidArgument, source + "='" + spec + "': an empty kernel pattern (between commas, or after '-')");
    }
    bool matches = false;
    for (const std::string& name : known) matches = matches || glob_match(pattern, name);
    if (!matches) {
      throw Error(ErrorCode::kInvalidArgument, source + ": '" + pattern +
                                                   "' matches no kernel; `sparrow describe` shows kernel names such as f32-conv-onednn");
    }
    (deny ? f.deny_ : f.allow_).push_back(pattern);
  }
  return f;
}

bool KernelFilter::allows(std::string_view name) const {
  for (const std::string& p : deny_) {
    if (glob_match(p, name)) return false;
  }
  if (allow_.empty()) return true;
  for (const std::string& p : allow_) {
    if (glob_match(p, name)) return true;
  }
  return false;
}

}  // namespace sparrow::kernels
