#include "kernels/isa.h"

#include <cpuid.h>

#include <cstdio>
#include <cstdlib>

#include <oneapi/dnnl/dnnl.hpp>

#include "sparrow/error.h"

namespace sparrow::kernels {
namespace {

enum Feature : uint32_t {
  kFAvx2 = 1u << 0,    // with FMA
  kFAvxVnni = 1u << 1,
  kFAvx512 = 1u << 2,  // F, BW, VL and DQ: Skylake-SP and later
  kFAvx512Vnni = 1u << 3,
  kFAvx512Vbmi = 1u << 4,
};

struct Level {
  Isa isa;
  const char* name;
  uint32_t features;
  dnnl::cpu_isa onednn;  // the cap oneDNN gets when SPARROW_ISA names this level
};

// Poorest to richest: the last available one names the process.
constexpr Level kLevels[] = {
    {Isa::kScalar, "scalar", 0, dnnl::cpu_isa::sse41},
    {Isa::kAvx2, "avx2", kFAvx2, dnnl::cpu_isa::avx2},
    {Isa::kAvxVnni, "avxvnni", kFAvx2 | kFAvxVnni, dnnl::cpu_isa::avx2_vnni},
    {Isa::kAvx512, "avx512", kFAvx2 | kFAvx512, dnnl::cpu_isa::avx512_core},
    {Isa::kAvx512Vnni, "avx512vnni", kFAvx2 | kFAvx512 | kFAvx512Vnni, dnnl::cpu_isa::avx512_core_vnni},
    {Isa::kAvx512Vbmi, "avx512vbmi", kFAvx2 | kFAvx512 | kFAvx512Vbmi, dnnl::cpu_isa::all},
};

const Level& level(Isa isa) { return kLevels[static_cast<int>(isa)]; }

// AVX-VNNI is CPUID.(EAX=7,ECX=1):EAX bit 4; clang 14's __builtin_cpu_supports does not know it.
bool cpu_has_avx_vnni() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  return __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a & (1u << 4)) != 0;
}

// The compiler's checks include the OS's support for the AVX and AVX-512 register state
// (AVX-VNNI needs the same YMM state as AVX2).
uint32_t cpu_features() {
  __builtin_cpu_init();
  uint32_t f = 0;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) f |= kFAvx2;
  if ((f & kFAvx2) && cpu_has_avx_vnni()) f |= kFAvxVnni;
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512dq")) {
    f |= kFAvx512;
  }
  if (__builtin_cpu_supports("avx512vnni")) f |= kFAvx512Vnni;
  if (__builtin_cpu_supports("avx512vbmi")) f |= kFAvx512Vbmi;
  return f;
}

struct Decision {
  uint32_t features = 0;
  const Level* cap = nullptr;  // SPARROW_ISA's level, if set
};

std::string level_names() {
  std::string names;
  for (const Level& l : kLevels) names += (names.empty() ? "" : ", ") + std::string(l.name);
  return names;
}

const Level* cap_from_env() {
  const char* v = std::getenv("SPARROW_ISA");
  if (!v || !*v) return nullptr;
  for (const Level& l : kLevels) {
    if (std::string(v) == l.name) return &l;
  }
  throw Error(ErrorCode::kInvalidArgument,
              std::string("SPARROW_ISA=") + v + ": not an instruction set Sparrow knows; use one of " + level_names());
}

const char* richest(uint32_t features) {
  const char* name = kLevels[0].name;
  for (const Level& l : kLevels) {
    if ((l.features & features) == l.features) name = l.name;
  }
  return name;
}

Decision decide() {
  Decision d;
  d.cap = cap_from_env();
  const uint32_t cpu = cpu_features();
  d.features = cpu & (d.cap ? d.cap->features : ~0u);
  if (d.cap) {
    // Only effective before oneDNN's first primitive; compiling calls this first.
    try {
      dnnl::set_max_cpu_isa(d.cap->onednn);
    } catch (const dnnl::error& e) {
      std::fprintf(stderr, "sparrow: SPARROW_ISA=%s could not cap oneDNN: %s\n", d.cap->name, e.what());
    }
  }
  if (d.cap || std::getenv("SPARROW_VERBOSE")) {
    std::fprintf(stderr, "sparrow: kernels for %s (CPU: %s%s%s)\n", richest(d.features), richest(cpu),
                 d.cap ? ", capped by SPARROW_ISA=" : "", d.cap ? d.cap->name : "");
  }
  return d;
}

// A static's initializer that throws (a bad SPARROW_ISA) runs again on the next call.
const Decision& decision() {
  static const Decision d = decide();
  return d;
}

}  // namespace

const char* isa_name(Isa isa) { return level(isa).name; }

bool isa_available(Isa isa) {
  const uint32_t need = level(isa).features;
  return (decision().features & need) == need;
}

std::string process_isa_name() {
  const Decision& d = decision();
  return std::string(richest(d.features)) + (d.cap ? " (SPARROW_ISA)" : "");
}

}  // namespace sparrow::kernels
