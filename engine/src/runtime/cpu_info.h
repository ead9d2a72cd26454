// What the machine offers this process: cores (affinity and cgroup quota), memory, and the ISA
// oneDNN dispatches to.
#pragma once

#include <cstddef>
#include <string>

namespace sparrow::runtime {

// CPUs this process may run on: its affinity mask, capped by a cgroup CPU quota if one is set.
int available_cores();
size_t physical_memory_bytes();
// e.g. "avx512_core_vnni", as oneDNN reports its effective ISA.
std::string cpu_isa_name();

}  // namespace sparrow::runtime
