// The instruction sets Sparrow's own kernels are built for, and which of them this process uses:
// the CPU's features, capped by SPARROW_ISA so that every path can be tested on one machine.
// Decided once per process; oneDNN is capped to the same level.
#pragma once

#include <cstdint>
#include <string>

namespace sparrow::kernels {

// Named levels, each a set of CPU features. A kernel row needs one level; the levels are not a
// ladder (Cascade Lake has avx512vnni but no avxvnni, Alder Lake the reverse).
enum class Isa : uint8_t { kScalar, kAvx2, kAvxVnni, kAvx512, kAvx512Vnni, kAvx512Vbmi };

const char* isa_name(Isa isa);
// Whether this process may run kernels built for `isa`. The first call decides, from the CPU
// and SPARROW_ISA (throws sparrow::Error for an unknown SPARROW_ISA), and logs the decision to
// stderr when SPARROW_ISA or SPARROW_VERBOSE is set.
bool isa_available(Isa isa);
// The richest level available, e.g. "avx512vbmi", or "avx2 (SPARROW_ISA)" when capped.
std::string process_isa_name();

}  // namespace sparrow::kernels
