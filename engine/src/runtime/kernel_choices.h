// The compiler's per-layer choices between contested kernel rows (a sparse row against oneDNN's
// dense one), kept in a file so that a model compiles to the same kernels on every start, without
// timing its layers again: CompileOptions::kernel_choices, else $SPARROW_KERNEL_CHOICES.
//
// One line per choice: "<key> <row> <node>". The key hashes what the timing depended on: the node
// (op, name, attributes through its shapes), its inputs' and outputs' types, shapes and layouts,
// its constants' bytes, the rows that accepted it, the team size and the ISA. A layer whose key
// is not in the file, or whose recorded row no longer accepts it, is timed as usual and its
// choice added.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kernels/selection.h"

namespace sparrow::runtime {

class KernelChoices {
 public:
  // `path` empty: nothing is read or kept. A missing file is an empty one. Throws sparrow::Error
  // (kInvalidArgument) naming the file and line when a line does not parse.
  explicit KernelChoices(std::string path);

  // Whether a file was named: without one, no key need be computed.
  bool enabled() const { return !path_.empty(); }
  static uint64_t key(const kernels::SelectContext& ctx, const std::vector<std::string>& rows, int num_cores,
                      const std::string& isa);
  std::optional<std::string> find(uint64_t key) const;
  void record(uint64_t key, const std::string& row, const std::string& node);
  // Writes the file (through a temporary and a rename) if a choice was added. A failure is
  // reported on stderr: the plan is good without its cache.
  void save() const;

 private:
  struct Entry {
    std::string row, node;
  };
  std::string path_;
  std::map<uint64_t, Entry> entries_;
  bool changed_ = false;
};

}  // namespace sparrow::runtime
