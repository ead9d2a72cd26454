// What the machine offers this process: cores (affinity and cgroup quota), memory (cgroup limit
// and the kernel's estimate of what is available), and the ISA oneDNN dispatches to.
#pragma once

#include <cstddef>
#include <string>

namespace sparrow::runtime {

// CPUs this process may run on: its affinity mask (OpenMP's places when OMP_PROC_BIND has pinned
// this thread), capped by a cgroup CPU quota if one is set.
int available_cores();
// Bytes this process can still allocate: the smaller of what the cgroup v2 memory limits of its
// cgroup and of that cgroup's ancestors leave (memory.max - memory.current, plus inactive file
// pages, which the kernel reclaims before it fails an allocation) and /proc/meminfo's
// MemAvailable; physical memory when neither is known. `root` replaces "/" in the paths read
// (/proc/self/cgroup, /proc/meminfo, /sys/fs/cgroup), for tests.
size_t available_memory_bytes(const std::string& root = "/");
// e.g. "avx512_core_vnni", as oneDNN reports its effective ISA.
std::string cpu_isa_name();

}  // namespace sparrow::runtime
