// qu8-spconv's JIT variant on AVX-512 VNNI: x86 code generated (with Xbyak) per layer from its
// sparsity pattern, so that one loaded panel vector serves many output channels.
//
// The intrinsic microkernels issue one 64-byte panel load per vpdpbusd: nothing they load is
// reused across output channels, since each row's blocks sit at its own offsets. Here a group of
// 31 output channels keeps its accumulators in registers while the code walks the union of
// the group's block offsets in panel order: each offset's panel vector is loaded once and feeds
// one `vpdpbusd acc[r], x, dword bcst [weights]` per row r of the group having that block. At
// 85 % block sparsity a group of 31 rows has ~4.7 blocks per offset it visits. The weights are
// read from an array in the order the code uses them (4 bytes each, broadcast by EVEX), and the
// offsets are displacements, so the code holds the pattern and the array only the values.
#include <xbyak/xbyak.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "kernels/prefetch.h"
#include "kernels/qu8_spconv.h"
#include "kernels/qu8_spconv_jit.h"
#include "sparrow/error.h"

namespace sparrow::kernels {
namespace {

// One block of a group: panel offset, row within the group, index of its weights in the array.
struct GroupBlock {
  int32_t offset;
  int row;
  int32_t weights;
};

// The code's registers: rdi the tile's panel, rsi the accumulators (channel c's at c * 16), rdx
// the weight array, advanced as the code goes so that displacements fit EVEX's compressed disp8
// (multiples of 4 in [-512, 508] for a dword broadcast): 7-byte vpdpbusd instead of 10. zmm0-30
// hold a group's accumulators, zmm31 the panel vector.
//
// One vector of 16 positions per tile, measured on Zen 5 (kernel_bench SparseQConv, 1 core,
// 85 %, yolov5l 3x3 256@40 and 1x1 1024@20): 32, 48 or 64 positions (15, 9 or 6 rows of 2-4
// vectors, one weight broadcast to a register per block) ran at 0.4-0.8x of 16 x 31; and with
// 16 positions, groups of 8, 16 and 24 rows at ~0.7, ~0.85 and ~0.9x of 31, about in proportion
// to the loads per vpdpbusd (1 + 1 / rows per visited offset): loads are the bound.
class Generator : public Xbyak::CodeGenerator {
 public:
  Generator() : Xbyak::CodeGenerator(64 * 1024, Xbyak::AutoGrow) {}

  // Accumulators of `channels` (output channel of each row of the group) from its blocks sorted
  // by offset.
  void group(const std::vector<int32_t>& channels, const std::vector<GroupBlock>& blocks) {
    for (int r = 0; r < static_cast<int>(channels.size()); ++r) vpxord(acc(r), acc(r), acc(r));
    for (size_t i = 0; i < blocks.size();) {
      const int32_t offset = blocks[i].offset;
      vmovdqu32(x(), ptr[rdi + offset]);
      for (; i < blocks.size() && blocks[i].offset == offset; ++i) {
        vpdpbusd(acc(blocks[i].row), x(), ptr_b[rdx + weight_disp(blocks[i].weights)]);
      }
    }
    for (int r = 0; r < static_cast<int>(channels.size()); ++r) vmovdqu32(ptr[rsi + channels[r] * 64], acc(r));
  }

  // A segment is a function of its own, whose rdx points at weight `first_weight`.
  void begin_segment(int32_t first_weight) {
    starts_.push_back(getSize());
    base_ = first_weight;
  }
  void end_segment() {
    vzeroupper();
    ret();
  }
  size_t segment_bytes() const { return getSize() - starts_.back(); }
  // Entry points once the code is final.
  std::vector<const uint8_t*> finish() {
    ready();
    std::vector<const uint8_t*> entries;
    for (size_t start : starts_) entries.push_back(getCode() + start);
    return entries;
  }

 private:
  static Xbyak::Zmm acc(int r) { return Xbyak::Zmm(r); }
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

using SegmentFn = void (*)(const uint8_t* panel, int32_t* acc, const int32_t* weights);

class JitCode final : public Qu8SpconvJitCode {
 public:
  JitCode(std::unique_ptr<Generator> gen, std::vector<int32_t> weights, const std::vector<int32_t>& first_weights)
      : gen_(std::move(gen)), weights_(std::move(weights)) {
    const std::vector<const uint8_t*> entries = gen_->finish();
    for (size_t i = 0; i < entries.size(); ++i) {
      segments_.push_back({reinterpret_cast<SegmentFn>(reinterpret_cast<uintptr_t>(entries[i])), first_weights[i]});
    }
  }
  void run(size_t segment, const uint8_t* panel, int32_t* acc) const override {
    const Segment& s = segments_[segment];
    s.fn(panel, acc, weights_.data() + s.first_weight);
  }
  size_t bytes() const override { return gen_->getSize() + weights_.size() * 4; }
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
  };
  std::unique_ptr<Generator> gen_;
  std::vector<int32_t> weights_;
  std::vector<Segment> segments_;
};

// Upper bound of the code's size: 10 bytes per panel load (disp32) and 7 per vpdpbusd, plus the
// rdx steps, and per channel its zeroing and store.
size_t code_bound(const Qu8SpconvWeights& w) {
  const size_t blocks = w.entries.size();
  return blocks * (10 + 7) + blocks / 256 * 7 + static_cast<size_t>(w.oc) * (6 + 11) + 64;
}

// The blocks of rows [first, last) of `w` (one row per segment), in panel order, and each row's
// output channel.
std::vector<GroupBlock> group_blocks(const Qu8SpconvWeights& w, int64_t first, int64_t last, std::vector<int32_t>& channels) {
  std::vector<GroupBlock> blocks;
  for (int64_t s = first; s < last; ++s) {
    const int r = static_cast<int>(s - first);
    channels.push_back(w.rows[static_cast<size_t>(s)]);
    const Qu8SpconvEntry* e = w.entries.data() + w.segment_start[static_cast<size_t>(s)];
    for (uint32_t i = 0; i < w.segment_steps[static_cast<size_t>(s)]; ++i) blocks.push_back({e[i].offset, r, e[i].weights});
  }
  std::stable_sort(blocks.begin(), blocks.end(), [](const GroupBlock& a, const GroupBlock& b) { return a.offset < b.offset; });
  return blocks;
}

}  // namespace

void qu8_spconv_jit_pack_avx512vnni(Qu8SpconvWeights& w, int tile, int64_t segment_bytes) {
  if (w.rows_per_group != 1 || w.chunks != 1 || tile != kQu8SpconvJitTile) {
    throw Error(ErrorCode::kInternal, "qu8-spconv JIT: needs weights packed one row per group, in one chunk, 16-position tiles");
  }
  const int64_t rows = kQu8SpconvJitRows;
  const size_t bound = code_bound(w);
  if (bound > kQu8SpconvJitMaxCode) {
    throw Error(ErrorCode::kResourceExhausted, "qu8-spconv JIT: the code for " + std::to_string(w.entries.size()) +
                                                   " blocks could reach " + std::to_string(bound >> 10) + " KB, above " +
                                                   std::to_string(kQu8SpconvJitMaxCode >> 10) + " KB");
  }
  auto gen = std::make_unique<Generator>();
  std::vector<int32_t> weights, first_weights;
  weights.reserve(w.entries.size());
  // Each code segment's bytes (code and weights), in units of the Qu8SpconvEntry it replaces,
  // so that the driver's blocks of segments (qu8_spconv_segment_blocks) count bytes read.
  std::vector<uint32_t> sizes;
  auto end_segment = [&] {
    gen->end_segment();
    const size_t bytes = gen->segment_bytes() + (weights.size() - static_cast<size_t>(first_weights.back())) * 4;
    sizes.push_back(static_cast<uint32_t>((bytes + sizeof(Qu8SpconvEntry) - 1) / sizeof(Qu8SpconvEntry)));
  };
  const int64_t segments = static_cast<int64_t>(w.segment_steps.size());
  for (int64_t first = 0; first < segments; first += rows) {
    if (first == 0 || static_cast<int64_t>(gen->segment_bytes() + (weights.size() - static_cast<size_t>(first_weights.back())) * 4) >= segment_bytes) {
      if (first > 0) end_segment();
      first_weights.push_back(static_cast<int32_t>(weights.size()));
      gen->begin_segment(first_weights.back());
    }
    std::vector<int32_t> channels;
    std::vector<GroupBlock> blocks = group_blocks(w, first, std::min(segments, first + rows), channels);
    for (GroupBlock& b : blocks) {
      weights.push_back(b.weights);
      b.weights = static_cast<int32_t>(weights.size() - 1);
    }
    gen->group(channels, blocks);
  }
  end_segment();
  w.jit = std::make_shared<JitCode>(std::move(gen), std::move(weights), first_weights);
  w.entries = {};
  w.segment_steps = std::move(sizes);
  w.segment_start.assign(w.segment_steps.size(), 0);
  w.groups = static_cast<int64_t>(w.segment_steps.size());
}

void qu8_spconv_ukernel_jit_avx512vnni(const Qu8SpconvWeights& w, size_t first, size_t last, const uint8_t* panel,
                                       int32_t* acc) {
  for (size_t s = first; s < last; ++s) w.jit->run(s, panel, acc);
}

}  // namespace sparrow::kernels
