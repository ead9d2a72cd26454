// Which kernel rows compilation may use, so that tests and kernel_bench can force one row at a
// time: CompileOptions::kernels, or else SPARROW_KERNELS. A comma-separated list of row-name
// patterns in which '*' stands for any run of characters; "-pattern" denies the rows it matches.
// When any pattern allows, only rows it matches are used. The reference kernels stay the
// fallback of every node and are never filtered.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sparrow::kernels {

bool glob_match(std::string_view pattern, std::string_view name);

class KernelFilter {
 public:
  // Throws sparrow::Error (invalid argument) for an empty pattern, or one that matches none of
  // `known` (a misspelt name would otherwise change nothing, silently). `source` names the spec
  // in those messages ("SPARROW_KERNELS").
  static KernelFilter parse(const std::string& spec, const std::vector<std::string>& known, const std::string& source);
  bool allows(std::string_view name) const;

 private:
  std::vector<std::string> allow_, deny_;
};

}  // namespace sparrow::kernels
