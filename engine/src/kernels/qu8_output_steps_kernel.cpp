// A QLinearConv's fused steps on its output bytes (the table, then the residual add) after a
// kernel that does not apply them itself, oneDNN's: chunk by chunk over the run's threads, so
// that the add reads each chunk while the table's pass left it in L1.
#include <omp.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "kernels/selection.h"
#include "kernels/x8_lut.h"
#include "ops/fused_attrs.h"

namespace sparrow::kernels {
namespace {

constexpr size_t kTableSize = 256;

class OutputStepsKernel final : public Kernel {
 public:
  OutputStepsKernel(std::unique_ptr<Kernel> inner, const Tensor* table, const std::optional<FusedResidualAdd>& add,
                    size_t bytes)
      : inner_(std::move(inner)), has_table_(table != nullptr), add_(add), bytes_(bytes) {
    if (table) std::memcpy(table_.data(), table->data(), kTableSize);
  }

  void execute(const KernelArgs& args, ExecContext& ctx) const override {
    inner_->execute(args, ctx);
    auto* y = static_cast<uint8_t*>(args.outputs[0]);
    const auto* residual = add_ ? static_cast<const uint8_t*>(args.inputs[static_cast<size_t>(add_->input)]) : nullptr;
    constexpr size_t kChunk = 16384;
    const int64_t chunks = static_cast<int64_t>((bytes_ + kChunk - 1) / kChunk);
    const X8LutUkernel lookup = x8_lut_best_variant().ukernel;
    const Qu8VaddUkernel vadd = qu8_vadd_best_variant().ukernel;
#pragma omp parallel for schedule(static) if (chunks > 1)
    for (int64_t c = 0; c < chunks; ++c) {
      const size_t start = static_cast<size_t>(c) * kChunk, n = std::min(kChunk, bytes_ - start);
      if (has_table_) lookup(n, y + start, y + start, table_.data());
      if (add_) add_->add.apply(vadd, n, residual + start, y + start);
    }
  }
  std::string implementation() const override {
    std::string text = inner_->implementation();
    if (has_table_) text += std::string(text.empty() ? "" : ", ") + "table on " + x8_lut_best_variant().name;
    if (add_) text += std::string(text.empty() ? "" : ", ") + "add on " + qu8_vadd_best_variant().name;
    return text;
  }
  size_t scratchpad_bytes() const override { return inner_->scratchpad_bytes(); }
  size_t constant_bytes() const override { return inner_->constant_bytes() + (has_table_ ? kTableSize : 0); }

 private:
  std::unique_ptr<Kernel> inner_;
  std::array<uint8_t, kTableSize> table_{};
  bool has_table_ = false;
  std::optional<FusedResidualAdd> add_;
  size_t bytes_;
};

}  // namespace

std::unique_ptr<Kernel> with_output_steps(std::unique_ptr<Kernel> inner, const Tensor* table,
                                          const std::optional<FusedResidualAdd>& add, size_t bytes) {
  if (!table && !add) return inner;
  return std::make_unique<OutputStepsKernel>(std::move(inner), table, add, bytes);
}

}  // namespace sparrow::kernels
