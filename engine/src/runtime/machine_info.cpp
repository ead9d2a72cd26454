#include "runtime/machine_info.h"

#include <omp.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

namespace sparrow::runtime {
namespace {

// cgroup v2 "cpu.max" holds "QUOTA PERIOD" or "max PERIOD".
int cgroup_cpu_limit() {
  std::ifstream f("/sys/fs/cgroup/cpu.max");
  std::string quota;
  long period = 0;
  if (f >> quota >> period && quota != "max" && period > 0) {
    try {
      return std::max(1, static_cast<int>(std::ceil(std::stod(quota) / static_cast<double>(period))));
    } catch (const std::exception&) {
    }
  }
  return 0;
}

size_t physical_memory_bytes() {
  return static_cast<size_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<size_t>(sysconf(_SC_PAGE_SIZE));
}

// The first word of a file as a number; nullopt when missing or not a number ("max").
std::optional<size_t> read_number(const std::string& path) {
  std::ifstream f(path);
  std::string word;
  size_t value = 0;
  if (!(f >> word)) return std::nullopt;
  const auto [end, error] = std::from_chars(word.data(), word.data() + word.size(), value);
  if (error != std::errc() || end != word.data() + word.size()) return std::nullopt;
  return value;
}

// The number after `key` in a file of "key value [unit]" lines (memory.stat, /proc/meminfo).
std::optional<size_t> read_field(const std::string& path, const std::string& key) {
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) {
    std::istringstream words(line);
    std::string name;
    size_t value = 0;
    if (words >> name >> value && name == key) return value;
  }
  return std::nullopt;
}

// The process's cgroup v2 directory relative to the hierarchy's root ("/user.slice/x"), from the
// "0::PATH" line of /proc/self/cgroup.
std::optional<std::string> own_cgroup(const std::string& root) {
  std::ifstream f(root + "proc/self/cgroup");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("0::", 0) == 0) return line.substr(3);
  }
  return std::nullopt;
}

// What the memory.max of the cgroup at `dir` leaves; nullopt without a limit there.
std::optional<size_t> cgroup_headroom(const std::string& dir) {
  const std::optional<size_t> max = read_number(dir + "/memory.max");
  if (!max) return std::nullopt;
  const size_t current = read_number(dir + "/memory.current").value_or(0);
  const size_t reclaimable = read_field(dir + "/memory.stat", "inactive_file").value_or(0);
  const size_t used = current - std::min(current, reclaimable);
  return *max - std::min(*max, used);
}

// The tightest limit among the process's cgroup and its ancestors: each one's limit applies.
std::optional<size_t> cgroup_available(const std::string& root) {
  std::optional<std::string> path = own_cgroup(root);
  if (!path) return std::nullopt;
  const std::string mount = root + "sys/fs/cgroup";
  std::optional<size_t> tightest;
  for (;;) {
    if (std::optional<size_t> headroom = cgroup_headroom(mount + *path)) {
      tightest = std::min(tightest.value_or(*headroom), *headroom);
    }
    const size_t parent = path->rfind('/');
    if (parent == std::string::npos || *path == "/") return tightest;
    path->erase(parent);
  }
}

}  // namespace

size_t available_memory_bytes(const std::string& root) {
  const std::optional<size_t> cgroup = cgroup_available(root);
  std::optional<size_t> available = read_field(root + "proc/meminfo", "MemAvailable:");
  if (available) *available *= 1024;  // kB
  if (cgroup && available) return std::min(*cgroup, *available);
  return cgroup.value_or(available.value_or(physical_memory_bytes()));
}

// With OMP_PROC_BIND set, libgomp pins the initial thread to its first place as it starts, so
// this thread's affinity is that place alone (one core: `OMP_PROC_BIND=true` made every plan run
// on one thread, at half speed on 2 cores). The places hold the processors the process had.
int openmp_place_cores() {
  if (omp_get_proc_bind() == omp_proc_bind_false) return 0;
  std::set<int> ids;
  for (int p = 0; p < omp_get_num_places(); ++p) {
    std::vector<int> procs(static_cast<size_t>(std::max(0, omp_get_place_num_procs(p))));
    omp_get_place_proc_ids(p, procs.data());
    ids.insert(procs.begin(), procs.end());
  }
  return static_cast<int>(ids.size());
}

int available_cores() {
  cpu_set_t set;
  int cores = openmp_place_cores();
  if (cores <= 0 && sched_getaffinity(0, sizeof(set), &set) == 0) cores = CPU_COUNT(&set);
  if (cores <= 0) cores = static_cast<int>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
  const int quota = cgroup_cpu_limit();
  return quota > 0 ? std::min(cores, quota) : cores;
}

std::string cpu_isa_name() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "other";
  }
}

}  // namespace sparrow::runtime
