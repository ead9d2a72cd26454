// The kernel table: one row per kernel variant, XNNPACK-style. A row's name says its data type,
// op, tile (where it has one), implementation and ISA: "f32-conv-onednn", "x-concat-memcpy",
// later "qu8-conv-…-avx512vnni". Its key is the IR op and the data types of the node's leading
// inputs; the ISA it needs is checked against the process's (kernels/isa.h). Rows of one op are
// in order of preference; the compiler gathers every row that accepts a node and then applies
// its policy (first, or fastest measured; contested rows are always measured).
#pragma once

#include <string>
#include <vector>

#include "kernels/isa.h"
#include "kernels/selection.h"

namespace sparrow::kernels {

struct KernelRow {
  std::string name;
  std::string op;
  std::vector<DType> input_dtypes;  // of inputs 0, 1, ...; empty: any data type
  Isa isa = Isa::kScalar;           // kScalar: runs anywhere (oneDNN rows dispatch by themselves)
  Candidate select = nullptr;
  // Whether accepting is not enough to win: a sparse kernel is faster than the dense one only
  // from some sparsity on, which depends on the shape and the machine. When a contested row
  // accepts, the compiler times it against the next row that accepts and keeps the faster.
  bool contested = false;
};

const std::vector<KernelRow>& kernel_table();
// Whether the row's op and input data types are the node's, and this process has the row's ISA.
bool row_fits(const KernelRow& row, const SelectContext& ctx);

}  // namespace sparrow::kernels
