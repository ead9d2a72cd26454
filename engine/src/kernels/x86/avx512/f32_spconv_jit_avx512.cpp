// f32-spconv's JIT variant on AVX-512: x86 code generated (with Xbyak) per layer from its
// non-zero weights, so that one loaded panel vector serves many output channels.
//
// The intrinsic microkernels (f32_spmm_64x1_avx512.cpp) issue one 64-byte panel load per FMA:
// each row's non-zeros sit at its own offsets, so nothing loaded is reused across output
// channels, and loads bound them. Here a group of 31 output channels keeps its 16-position sums
// in zmm0-30 while the code walks the union of the group's non-zero offsets in panel order: each
// offset's panel vector is loaded once into zmm31 and feeds one
// `vfmadd231ps acc[r], zmm31, dword bcst [weights]` per row r of the group having a weight
// there. At 85 % sparsity a group of 31 rows has ~4.7 weights per offset. The weights are read
// from an array in the order the code uses them (broadcast by EVEX), and the offsets are
// displacements: the code holds the pattern, the array only the values. 4-blocks need nothing
// of their own: their weights are entries like any other, at 4 consecutive channel offsets.
//
// The shape of it (16 positions, 31 rows) is the INT8 JIT row's (qu8_spconv_jit_avx512vnni.cpp),
// where larger tiles and smaller groups were measured slower.
#include <xbyak/xbyak.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "kernels/f32_spconv.h"
#include "kernels/f32_spconv_jit.h"
#include "kernels/prefetch.h"
#include "sparrow/error.h"

namespace sparrow::kernels {
namespace {

// One non-zero of a group: panel byte offset, row within the group, weight index in the array.
struct GroupEntry {
  int32_t offset;
  int row;
  int32_t weight;
};

// A group's entries of one chunk in panel order, how many distinct offsets (panel loads) they
// have, and whether the sums add to those of the chunks before (else they start from 0).
struct Group {
  size_t rows = 0;
  bool accumulate = false;
  std::vector<GroupEntry> entries;
  size_t loads = 0;
};

// Bytes of code: 10 per panel load (disp32), 7 per FMA (disp8 broadcast), 7 per move of rdx, and
// per row its zeroing or load (6-10) and store (7 with disp8, 10 beyond), plus vzeroupper and ret.
size_t code_bound(const Group& g) {
  return g.loads * 10 + g.entries.size() * 7 + (g.entries.size() / 256 + 1) * 7 + g.rows * (10 + 10) + 4;
}

// The code's registers: rdi the tile's panel, rsi the group's sums (row r's at r * 64 bytes),
// rdx the group's weights, advanced as the code goes so that displacements fit EVEX's compressed
// disp8 (multiples of 4 in [-512, 508] for a dword broadcast): 7-byte FMAs instead of 10.
class Generator : public Xbyak::CodeGenerator {
 public:
  explicit Generator(size_t bytes) : Xbyak::CodeGenerator(std::max<size_t>(bytes, 4096), Xbyak::AutoGrow) {}

  // A group's segment: its weights start at array index `first_weight`, which rdx points at.
  void group(const Group& g, int32_t first_weight) {
    starts_.push_back(getSize());
    base_ = first_weight;
    for (size_t r = 0; r < g.rows; ++r) {
      if (g.accumulate) {
        vmovups(acc(r), ptr[rsi + static_cast<int>(r * 64)]);
      } else {
        vpxord(acc(r), acc(r), acc(r));
      }
    }
    for (size_t i = 0; i < g.entries.size();) {
      const int32_t offset = g.entries[i].offset;
      vmovups(x(), ptr[rdi + offset]);
      for (; i < g.entries.size() && g.entries[i].offset == offset; ++i) {
        vfmadd231ps(acc(static_cast<size_t>(g.entries[i].row)), x(), ptr_b[rdx + weight_disp(g.entries[i].weight)]);
      }
    }
    for (size_t r = 0; r < g.rows; ++r) vmovups(ptr[rsi + static_cast<int>(r * 64)], acc(r));
    vzeroupper();
    ret();
  }

  // Entry points once the code is final.
  std::vector<const uint8_t*> finish() {
    ready();
    std::vector<const uint8_t*> entries;
    for (size_t start : starts_) entries.push_back(getCode() + start);
    return entries;
  }
  const std::vector<size_t>& starts() const { return starts_; }

 private:
  static Xbyak::Zmm acc(size_t r) { return Xbyak::Zmm(static_cast<int>(r)); }
  static Xbyak::Zmm x() { return Xbyak::Zmm(31); }

  // Displacement of weight `index` from rdx, moving rdx by 1 KB when it falls out of disp8 range.
  int32_t weight_disp(int32_t index) {
    while (index - base_ > 127) {
      add(rdx, 1024);
      base_ += 256;
    }
    return (index - base_) * 4;
  }

  int32_t base_ = 0;  // weight index rdx points at
  std::vector<size_t> starts_;  // code offset of each segment
};

using SegmentFn = void (*)(const float* panel, float* acc, const float* weights);

class JitCode final : public F32SpconvJitCode {
 public:
  JitCode(std::unique_ptr<Generator> gen, std::vector<float> weights, const std::vector<int32_t>& first_weights)
      : gen_(std::move(gen)), weights_(std::move(weights)) {
    const std::vector<size_t> starts = gen_->starts();
    const std::vector<const uint8_t*> entries = gen_->finish();
    for (size_t i = 0; i < entries.size(); ++i) {
      const size_t code_end = i + 1 < starts.size() ? starts[i + 1] : gen_->getSize();
      const size_t weights_end = i + 1 < first_weights.size() ? static_cast<size_t>(first_weights[i + 1]) : weights_.size();
      const size_t bytes = code_end - starts[i] + (weights_end - static_cast<size_t>(first_weights[i])) * sizeof(float);
      segments_.push_back({reinterpret_cast<SegmentFn>(reinterpret_cast<uintptr_t>(entries[i])), first_weights[i], bytes});
    }
  }
  void run(size_t segment, const float* panel, float* acc) const override {
    const Segment& s = segments_[segment];
    s.fn(panel, acc, weights_.data() + s.first_weight);
  }
  size_t segments() const override { return segments_.size(); }
  size_t segment_bytes(size_t segment) const override { return segments_[segment].bytes; }
  size_t bytes() const override { return gen_->getSize() + weights_.size() * sizeof(float); }
  void prefetch(size_t first, size_t last, size_t part, size_t parts) const override {
    prefetch_l2_segments(segments_, gen_->getCode() + gen_->getSize(), weights_, first, last, part, parts);
  }
  void load(size_t first, size_t last) const override {
    load_segments(segments_, gen_->getCode() + gen_->getSize(), weights_, first, last);
  }

 private:
  struct Segment {
    SegmentFn fn;
    int32_t first_weight;
    size_t bytes;
  };
  std::unique_ptr<Generator> gen_;
  std::vector<float> weights_;
  std::vector<Segment> segments_;
};

// Rows [first, first + rows) of the layer, merged in panel order (a stable sort keeps the rows in
// order at each offset); each entry's weight index counts from `first_weight`.
Group make_group(const uint32_t* counts, const F32SpNz* entries, size_t first, size_t rows, bool accumulate,
                 int32_t first_weight, std::vector<float>& weights) {
  Group g;
  g.rows = rows;
  g.accumulate = accumulate;
  for (size_t r = 0; r < rows; ++r) {
    for (uint32_t i = 0; i < counts[first + r]; ++i, ++entries) {
      if (static_cast<uint64_t>(entries->off) * 4 > static_cast<uint64_t>(std::numeric_limits<int32_t>::max())) {
        throw Error(ErrorCode::kUnsupported, "f32-spconv JIT: panel offset of " + std::to_string(entries->off) +
                                                 " floats beyond a 32-bit displacement");
      }
      g.entries.push_back({static_cast<int32_t>(entries->off * 4), static_cast<int>(r), 0});
      weights.push_back(entries->w);
    }
  }
  // Weight indices follow the merge: sort (offset, row, original index), then renumber.
  for (size_t i = 0; i < g.entries.size(); ++i) g.entries[i].weight = static_cast<int32_t>(i);
  std::stable_sort(g.entries.begin(), g.entries.end(),
                   [](const GroupEntry& a, const GroupEntry& b) { return a.offset < b.offset; });
  const std::vector<float> values(weights.end() - static_cast<ptrdiff_t>(g.entries.size()), weights.end());
  for (size_t i = 0; i < g.entries.size(); ++i) {
    weights[static_cast<size_t>(first_weight) + i] = values[static_cast<size_t>(g.entries[i].weight)];
    g.entries[i].weight = first_weight + static_cast<int32_t>(i);
  }
  for (size_t i = 0; i < g.entries.size(); ++i) g.loads += i == 0 || g.entries[i].offset != g.entries[i - 1].offset;
  return g;
}

}  // namespace

std::shared_ptr<const F32SpconvJitCode> f32_spconv_jit_generate_avx512(size_t rows, size_t chunks, const uint32_t* counts,
                                                                       const F32SpNz* entries) {
  // Entry index of (chunk k, row r): the counts' prefix sums.
  std::vector<size_t> start(chunks * rows + 1, 0);
  for (size_t i = 0; i < chunks * rows; ++i) start[i + 1] = start[i] + counts[i];
  // At least 7 bytes of FMA and 4 of weight per non-zero: decline before building the groups.
  if (start.back() * 11 > kF32SpJitMaxCode) {
    throw Error(ErrorCode::kResourceExhausted, "f32-spconv JIT: the code and weights for " + std::to_string(start.back()) +
                                                   " non-zeros need at least " + std::to_string(start.back() * 11 >> 10) +
                                                   " KB, above " + std::to_string(kF32SpJitMaxCode >> 10) + " KB");
  }
  std::vector<Group> groups;
  std::vector<float> weights;
  std::vector<int32_t> first_weights;
  size_t bound = 0;
  for (size_t first = 0; first < rows; first += kF32SpJitRows) {
    const size_t n = std::min(kF32SpJitRows, rows - first);
    for (size_t k = 0; k < chunks; ++k) {
      if (weights.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max() / 2)) {
        throw Error(ErrorCode::kResourceExhausted, "f32-spconv JIT: too many weights");
      }
      first_weights.push_back(static_cast<int32_t>(weights.size()));
      groups.push_back(make_group(counts + k * rows, entries + start[k * rows + first], first, n, k > 0,
                                  first_weights.back(), weights));
      bound += code_bound(groups.back());
    }
  }
  if (bound + weights.size() * sizeof(float) > kF32SpJitMaxCode) {
    throw Error(ErrorCode::kResourceExhausted, "f32-spconv JIT: the code and weights for " + std::to_string(weights.size()) +
                                                   " non-zeros could reach " +
                                                   std::to_string((bound + weights.size() * sizeof(float)) >> 10) +
                                                   " KB, above " + std::to_string(kF32SpJitMaxCode >> 10) + " KB");
  }
  try {
    auto gen = std::make_unique<Generator>(bound);
    for (size_t i = 0; i < groups.size(); ++i) gen->group(groups[i], first_weights[i]);
    return std::make_shared<JitCode>(std::move(gen), std::move(weights), first_weights);
  } catch (const Xbyak::Error& e) {  // e.g. no executable memory
    throw Error(ErrorCode::kResourceExhausted, std::string("f32-spconv JIT: Xbyak: ") + e.what());
  }
}

}  // namespace sparrow::kernels
