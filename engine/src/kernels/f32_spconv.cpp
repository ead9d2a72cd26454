#include "kernels/f32_spconv.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "kernels/f32_spconv_jit.h"
#include "sparrow/error.h"

namespace sparrow::kernels {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }
size_t align64(size_t bytes) { return (bytes + 63) & ~size_t{63}; }

// A tile's share of the panel (per chunk) should stay in L1 with room for the weight stream,
// accumulators and staging: Zen 5 has 48 KB.
constexpr int64_t kChunkBytes = 32 * 1024;
// A band's panel should stay in L2 (1 MB per core on Zen 5) next to the output it produces.
constexpr int64_t kBandBytes = 512 * 1024;
// A JIT variant reads each block of its code (below) once per band from L3 and then from L2 for
// every tile: wider layers need taller bands than the panel alone would choose for the code to
// be reused enough. Measured on the yolov5l 1x1 2048->1024@20 at 85 % (kernel_bench, 1 core, a
// loaded machine): bands of 2 rows (512 KB of panel, 3 tiles) ran at 138-228 effective GMAC/s
// over 5 runs, of 4 rows (1 MB) at 205-282 over 4; 3x3 512@20 and 1x1 1024@20 (taller bands or
// the same) within the noise.
constexpr int64_t kJitBandBytes = 1024 * 1024;
// A JIT variant's code runs in blocks of register groups of about this many bytes (code and
// weights) over every tile of a band, so that each block stays in L2 beside the band's panel from
// one tile to the next instead of streaming from L3 once per tile. Measured on Zen 5 (kernel_bench
// SparseConv, 1 core, 85 %, yolov5l 3x3 256@40, 3x3 512@20 and 1x1 1024@20, a loaded machine):
// the whole code once per tile ran at 0.55-0.65x of 256 KB blocks; 128 and 512 KB blocks, and
// blocks of one group (~60 KB), were within the noise (+-15 %) of 256 KB.
constexpr size_t kCodeBlockBytes = 256 * 1024;

// Band heights whose bands start on a tile boundary of the image (the last band may be short).
bool whole_tiles(int64_t rows, int64_t oh, int64_t ow, int64_t tile) { return rows == oh || (rows * ow) % tile == 0; }

}  // namespace

bool f32_spconv_reads_in_place(const F32SpconvShape& s, size_t tile) {
  const int64_t hw = s.h * s.w;
  return s.kh == 1 && s.kw == 1 && s.sh == 1 && s.sw == 1 && s.pad_top == 0 && s.pad_left == 0 && s.oh == s.h &&
         s.ow == s.w && s.ic % 4 == 0 && hw % static_cast<int64_t>(tile) == 0 && (hw * 4) % 4096 != 0;
}

F32Spconv::F32Spconv(const F32SpconvShape& shape, const float* weights, const float* bias, ops::Activation act,
                     const F32SpconvVariant& variant, int cores, F32SpconvLayouts layouts)
    : s_(shape), v_(variant), act_(act), layouts_(layouts), out_stride_(shape.oc) {
  if (layouts_.planar_out && !v_.store_planar) {
    throw Error(ErrorCode::kUnsupported, std::string(v_.name) + " has no planar (NCHW) store");
  }
  if (layouts_.planar_in && !f32_spconv_reads_in_place(s_, v_.tile)) {
    throw Error(ErrorCode::kUnsupported, "a planar input is read in place only by 1x1 stride-1 convs on whole tiles");
  }
  const int64_t m = static_cast<int64_t>(v_.tile);
  icp_ = round_up(s_.ic, 4);
  phy_ = std::min(s_.sh, s_.kh);
  phx_ = std::min(s_.sw, s_.kw);
  wq_ = s_.ow + (s_.kw - 1) / s_.sw;
  halo_ = (s_.kh - 1) / s_.sh;
  const int64_t phases = phy_ * phx_;
  const int64_t kvol = s_.kh * s_.kw;
  bias_.assign(static_cast<size_t>(s_.oc), 0.0f);
  if (bias) std::copy(bias, bias + s_.oc, bias_.begin());

  size_t nonzero = 0;
  for (int64_t i = 0; i < s_.oc * s_.ic * kvol; ++i) nonzero += weights[i] != 0.0f;
  // The units of output channels the threads may split a band into: row blocks of the
  // microkernels, or register groups (code segments) of a JIT variant.
  row_blocks_ = ceil_div(s_.oc, static_cast<int64_t>(v_.jit ? kF32SpJitRows : kF32SpRowBlock));

  // Band height: least estimated time, counting FMAs over every tile (garbage lanes included),
  // the pack of each band (halo rows included, once per part), and the imbalance of the items
  // over the cores.
  const double fmas_per_position = std::max(1.0, static_cast<double>(nonzero) / 16.0);
  const double pack_per_position = layouts_.planar_in ? 0.0 : 0.3 * static_cast<double>(phases * icp_);
  const int teams = std::max(1, cores);
  double best = std::numeric_limits<double>::max();
  for (int64_t r = 1; r <= s_.oh; ++r) {
    const int64_t span = round_up((r + halo_) * wq_ + m + (s_.kw - 1) / s_.sw, 16);
    if (r > 1 && phases * icp_ * span * 4 > (v_.jit ? kJitBandBytes : kBandBytes)) break;
    if (layouts_.planar_in && !whole_tiles(r, s_.oh, s_.ow, m)) continue;
    const int64_t bands = ceil_div(s_.oh, r);
    const int64_t parts = std::min(row_blocks_, ceil_div(2 * teams, s_.n * bands));
    double work = 0;
    for (int64_t b = 0; b < bands; ++b) {
      const int64_t rows = std::min(r, s_.oh - b * r);
      work += static_cast<double>(ceil_div(rows * wq_, m) * m) * fmas_per_position +
              static_cast<double>(parts * (rows + halo_) * wq_) * pack_per_position;
    }
    const int64_t items = s_.n * bands * parts;
    const double rounds = static_cast<double>(ceil_div(items, teams));
    const double time = work / static_cast<double>(items) * rounds;
    if (time < best) best = time, rows_ = r, bands_ = bands, parts_ = parts;
  }
  span_ = round_up((rows_ + halo_) * wq_ + m + (s_.kw - 1) / s_.sw, 16);
  // Channels one span apart should not share cache sets.
  if ((span_ * 4) % 4096 == 0) span_ += 16;
  if (layouts_.planar_in) span_ = s_.h * s_.w;
  if (static_cast<double>(phases * icp_ * span_) >= 4294967295.0) {
    throw Error(ErrorCode::kUnsupported, "sparse conv panel of " + std::to_string(phases * icp_ * span_) +
                                             " floats exceeds 32-bit offsets");
  }
  const int64_t strip = phases * (halo_ + 1) * (m + (s_.kw - 1) / s_.sw) * 4;
  chunk_ = std::max<int64_t>(4, kChunkBytes / strip / 4 * 4);
  chunk_ = std::min(chunk_, icp_);
  chunks_ = ceil_div(icp_, chunk_);
  pack_weights(weights);
  if (v_.jit) generate_code();
}

void F32Spconv::generate_code() {
  // The entries chunk after chunk, each chunk's row after row, as the generator reads them.
  const size_t oc = static_cast<size_t>(s_.oc), chunks = static_cast<size_t>(chunks_);
  std::vector<uint32_t> counts(chunks * oc);
  std::vector<F32SpNz> entries;
  entries.reserve(nz_.size());
  for (size_t k = 0; k < chunks; ++k) {
    for (size_t rb = 0; rb * kF32SpRowBlock < oc; ++rb) {
      const size_t slot = rb * chunks + k;
      const F32SpNz* e = nz_.data() + starts_[slot];
      for (size_t r = 0; r < kF32SpRowBlock && rb * kF32SpRowBlock + r < oc; ++r) {
        const uint32_t n = counts_[slot * kF32SpRowBlock + r];
        counts[k * oc + rb * kF32SpRowBlock + r] = n;
        entries.insert(entries.end(), e, e + n);
        e += n;
      }
    }
  }
  jit_ = v_.jit(oc, chunks, counts.data(), entries.data());
  // Blocks of whole groups (all their chunks).
  code_blocks_ = {0};
  size_t bytes = 0;
  for (size_t g = 0; g < static_cast<size_t>(row_blocks_); ++g) {
    size_t group_bytes = 0;
    for (size_t k = 0; k < chunks; ++k) group_bytes += jit_->segment_bytes(g * chunks + k);
    if (bytes > 0 && bytes + group_bytes > kCodeBlockBytes) code_blocks_.push_back(g), bytes = 0;
    bytes += group_bytes;
  }
  code_blocks_.push_back(static_cast<size_t>(row_blocks_));
  nz_ = {};
  counts_ = {};
}

void F32Spconv::pack_weights(const float* weights) {
  const int64_t kvol = s_.kh * s_.kw;
  const int64_t rb_rows = static_cast<int64_t>(kF32SpRowBlock);
  // For a JIT variant too, whose code generation reads the rows' entries in channel order (one
  // chunk) from here.
  const int64_t row_blocks = ceil_div(s_.oc, rb_rows);
  counts_.assign(static_cast<size_t>(row_blocks * chunks_ * rb_rows), 0);
  starts_.assign(static_cast<size_t>(row_blocks * chunks_), 0);
  auto offset = [&](int64_t c, int64_t kh, int64_t kw) {
    const int64_t phase = (kh % s_.sh) * phx_ + kw % s_.sw;
    return static_cast<uint32_t>((phase * icp_ + c) * span_ + (kh / s_.sh) * wq_ + kw / s_.sw);
  };
  auto w_at = [&](int64_t oc, int64_t c, int64_t kh, int64_t kw) {
    return c < s_.ic ? weights[((oc * s_.ic + c) * s_.kh + kh) * s_.kw + kw] : 0.0f;
  };
  auto by_offset = [](const auto& a, const auto& b) { return a.off < b.off; };
  for (int64_t rb = 0; rb < row_blocks; ++rb) {
    for (int64_t k = 0; k < chunks_; ++k) {
      const size_t slot = static_cast<size_t>(rb * chunks_ + k);
      starts_[slot] = v_.block == 4 ? blocks_.size() : nz_.size();
      const int64_t c0 = k * chunk_, c1 = std::min(icp_, c0 + chunk_);
      for (int64_t r = 0; r < rb_rows && rb * rb_rows + r < s_.oc; ++r) {
        const int64_t oc = rb * rb_rows + r;
        const size_t first = v_.block == 4 ? blocks_.size() : nz_.size();
        for (int64_t c = c0; c < c1; c += v_.block) {
          for (int64_t t = 0; t < kvol; ++t) {
            const int64_t kh = t / s_.kw, kw = t % s_.kw;
            if (v_.block == 1) {
              const float w = w_at(oc, c, kh, kw);
              if (w != 0.0f) nz_.push_back({w, offset(c, kh, kw)});
              continue;
            }
            F32SpBlock4 b{offset(c, kh, kw), {w_at(oc, c, kh, kw), w_at(oc, c + 1, kh, kw), w_at(oc, c + 2, kh, kw),
                                              w_at(oc, c + 3, kh, kw)}};
            if (b.w[0] != 0.0f || b.w[1] != 0.0f || b.w[2] != 0.0f || b.w[3] != 0.0f) blocks_.push_back(b);
          }
        }
        size_t count = 0;
        if (v_.block == 4) {
          std::sort(blocks_.begin() + static_cast<ptrdiff_t>(first), blocks_.end(), by_offset);
          count = blocks_.size() - first;
        } else {
          std::sort(nz_.begin() + static_cast<ptrdiff_t>(first), nz_.end(), by_offset);
          count = nz_.size() - first;
        }
        counts_[slot * kF32SpRowBlock + static_cast<size_t>(r)] = static_cast<uint32_t>(count);
      }
    }
  }
  nonzero_weights_ = v_.block == 4 ? 4 * blocks_.size() : nz_.size();
}

size_t F32Spconv::acc_bytes() const {
  // A JIT variant's block of segments stores all its channels before the epilogue.
  const size_t rows = jit_ ? static_cast<size_t>(row_blocks_) * kF32SpJitRows : kF32SpRowBlock;
  return align64(rows * v_.tile * sizeof(float));
}

size_t F32Spconv::panel_bytes() const {
  return layouts_.planar_in ? 0 : align64(static_cast<size_t>(phy_ * phx_ * icp_ * span_) * sizeof(float));
}

size_t F32Spconv::scratch_bytes_per_slot() const {
  const size_t dst = v_.tile * sizeof(float*);
  return panel_bytes() + acc_bytes() + align64(dst);
}

size_t F32Spconv::packed_bytes() const {
  return (jit_ ? jit_->bytes() : 0) + nz_.size() * sizeof(F32SpNz) + blocks_.size() * sizeof(F32SpBlock4) + counts_.size() * sizeof(uint32_t) +
         starts_.size() * sizeof(size_t) + bias_.size() * sizeof(float);
}

std::string F32Spconv::summary() const {
  std::ostringstream o;
  const double dense = static_cast<double>(s_.oc * icp_ * s_.kh * s_.kw);
  o.precision(3);
  o << "band" << rows_ << ":chunk" << chunks_ << ":" << 100.0 * static_cast<double>(nonzero_weights_) / dense << "%";
  if (layouts_.planar_in || layouts_.planar_out) {
    o << ":" << (layouts_.planar_in ? "nchw" : "nhwc") << "->" << (layouts_.planar_out ? "nchw" : "nhwc");
  }
  if (jit_) o << ":code" << (jit_->bytes() >> 10) << "KB:blocks" << code_blocks_.size() - 1;
  return o.str();
}

void F32Spconv::pack_band(const float* x, int64_t n, int64_t oy0, int64_t rows, float* panel) const {
  const size_t wq = static_cast<size_t>(wq_);
  for (int64_t a = 0; a < phy_; ++a) {
    for (int64_t b = 0; b < phx_; ++b) {
      float* plane = panel + (a * phx_ + b) * icp_ * span_;
      // Plane columns j read input column j*sw + b - pad_left: [j_lo, j_hi) lie inside.
      const int64_t lead = s_.pad_left - b;
      const int64_t j_lo = lead <= 0 ? 0 : std::min(wq_, ceil_div(lead, s_.sw));
      const int64_t last = s_.w - 1 + lead;
      const int64_t j_hi = std::max(j_lo, last < 0 ? 0 : std::min(wq_, last / s_.sw + 1));
      for (int64_t i = 0; i < rows + halo_; ++i) {
        const int64_t iy = (oy0 + i) * s_.sh + a - s_.pad_top;
        const bool inside = iy >= 0 && iy < s_.h && j_hi > j_lo;
        const float* src = inside ? x + ((n * s_.h + iy) * s_.w + j_lo * s_.sw + b - s_.pad_left) * s_.ic : x;
        v_.pack({wq, inside ? static_cast<size_t>(j_lo) : 0, inside ? static_cast<size_t>(j_hi) : 0, static_cast<size_t>(s_.ic),
                 static_cast<size_t>(icp_), src, static_cast<size_t>(s_.sw * s_.ic), plane + i * wq_, static_cast<size_t>(span_)});
      }
    }
  }
}

void F32Spconv::tile_destinations(float* y, int64_t n, int64_t oy0, int64_t rows, int64_t t, float** dst) const {
  const int64_t m = static_cast<int64_t>(v_.tile);
  for (int64_t j = 0; j < m; ++j) {
    const int64_t q = t * m + j, r = q / wq_, col = q % wq_;
    const int64_t pixel = (oy0 + r) * s_.ow + col;
    const bool real = r < rows && col < s_.ow;
    dst[j] = !real ? nullptr : layouts_.planar_out ? y + n * s_.oc * s_.oh * s_.ow + pixel : y + (n * s_.oh * s_.ow + pixel) * out_stride_;
  }
}

void F32Spconv::run_item(const float* x, float* y, bool accumulate, int64_t item, std::byte* slot, int64_t& loaded) const {
  const int64_t m = static_cast<int64_t>(v_.tile);
  const int64_t part = item % parts_, band = item / parts_ % bands_, n = item / parts_ / bands_;
  const int64_t oy0 = band * rows_, rows = std::min(rows_, s_.oh - oy0);
  const float* panel = layouts_.planar_in ? x + (n * s_.ic * s_.h + oy0) * s_.w : reinterpret_cast<float*>(slot);
  auto* acc = reinterpret_cast<float*>(slot + panel_bytes());
  auto* dst = reinterpret_cast<float**>(reinterpret_cast<std::byte*>(acc) + acc_bytes());
  const int64_t rb0 = part * row_blocks_ / parts_, rb1 = (part + 1) * row_blocks_ / parts_;
  if (jit_) prefetch_block(0, static_cast<size_t>(rb0), static_cast<size_t>(rb1), 0, 1);  // while the panel is packed
  if (!layouts_.planar_in) pack_band(x, n, oy0, rows, reinterpret_cast<float*>(slot));
  if (jit_ && part != loaded) {  // what of the part's code did not come (kernels/prefetch.h)
    jit_->load(static_cast<size_t>(rb0 * chunks_), static_cast<size_t>(rb1 * chunks_));
    loaded = part;
  }
  const int64_t tiles = ceil_div(rows * wq_, m);
  if (jit_) {
    run_tiles_jit(y, accumulate, n, oy0, rows, static_cast<size_t>(rb0), static_cast<size_t>(rb1), panel, acc, dst);
    return;
  }
  for (int64_t t = 0; t < tiles; ++t) {
    tile_destinations(y, n, oy0, rows, t, dst);
    const float* base = panel + t * m;
    for (int64_t rb = rb0; rb < rb1; ++rb) {
      const size_t nrows = std::min(kF32SpRowBlock, static_cast<size_t>(s_.oc - rb * static_cast<int64_t>(kF32SpRowBlock)));
      for (int64_t k = 0; k < chunks_; ++k) {
        const size_t slot_index = static_cast<size_t>(rb * chunks_ + k);
        const void* entries = v_.block == 4 ? static_cast<const void*>(blocks_.data() + starts_[slot_index])
                                            : static_cast<const void*>(nz_.data() + starts_[slot_index]);
        v_.spmm({nrows, counts_.data() + slot_index * kF32SpRowBlock, entries, static_cast<size_t>(span_), base, acc, k > 0});
      }
      const size_t oc0 = static_cast<size_t>(rb) * kF32SpRowBlock;
      store({nrows, acc, bias_.data() + oc0, act_, dst, oc0, accumulate});
    }
  }
}

// Each block of register groups (those of [s0, s1)) over every tile of the band, then the next:
// the block's code and weights stay in L2 from one tile to the next. Within a tile, chunk after
// chunk of the reduction runs every group of the block, so that the chunk's panel window stays in
// L1 while the groups walk it. The groups' channels are complete after the last chunk, so each
// tile's epilogue follows at once.
void F32Spconv::run_tiles_jit(float* y, bool accumulate, int64_t n, int64_t oy0, int64_t rows, size_t s0, size_t s1,
                              const float* panel, float* acc, float** dst) const {
  const int64_t m = static_cast<int64_t>(v_.tile);
  const int64_t tiles = ceil_div(rows * wq_, m);
  for (size_t b = 0; b + 1 < code_blocks_.size(); ++b) {
    const size_t first = std::max(s0, code_blocks_[b]), last = std::min(s1, code_blocks_[b + 1]);
    if (first >= last) continue;
    const size_t oc0 = first * kF32SpJitRows;
    const size_t nrows = std::min(static_cast<size_t>(s_.oc), last * kF32SpJitRows) - oc0;
    for (int64_t t = 0; t < tiles; ++t) {
      prefetch_block(b + 1, s0, s1, static_cast<size_t>(t), static_cast<size_t>(tiles));
      tile_destinations(y, n, oy0, rows, t, dst);
      for (size_t k = 0; k < static_cast<size_t>(chunks_); ++k) {
        for (size_t g = first; g < last; ++g) {
          jit_->run(g * static_cast<size_t>(chunks_) + k, panel + t * m, acc + (g - first) * kF32SpJitRows * kF32SpJitTile);
        }
      }
      store({nrows, acc, bias_.data() + oc0, act_, dst, oc0, accumulate});
    }
  }
}

void F32Spconv::store(F32SpStoreArgs a) const {
  if (!layouts_.planar_out) return v_.store(a);
  a.channel_stride = static_cast<size_t>(s_.oh * s_.ow);
  v_.store_planar(a);
}

// Part `part` of `parts` of code block b's groups within [s0, s1) (kernels/prefetch.h).
void F32Spconv::prefetch_block(size_t b, size_t s0, size_t s1, size_t part, size_t parts) const {
  if (b + 1 >= code_blocks_.size()) return;
  const size_t first = std::max(s0, code_blocks_[b]), last = std::min(s1, code_blocks_[b + 1]);
  const size_t chunks = static_cast<size_t>(chunks_);
  if (first < last) jit_->prefetch(first * chunks, last * chunks, part, parts);
}

void F32Spconv::run(const float* x, float* y, bool accumulate, void* scratch, int slots) const {
  const int64_t items = s_.n * bands_ * parts_;
  const size_t slot_bytes = scratch_bytes_per_slot();
  auto* bytes = static_cast<std::byte*>(scratch);
  const int team = std::max(1, std::min(omp_get_max_threads(), slots));
#pragma omp parallel num_threads(team) if (items > 1)
  {
    int64_t loaded = -1;
#pragma omp for schedule(dynamic, 1)
    for (int64_t item = 0; item < items; ++item) {
      run_item(x, y, accumulate, item, bytes + static_cast<size_t>(omp_get_thread_num()) * slot_bytes, loaded);
    }
  }
}

}  // namespace sparrow::kernels
