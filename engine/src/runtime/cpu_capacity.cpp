#include "runtime/cpu_capacity.h"

#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>

namespace sparrow::runtime {
namespace {

// Shorter intervals are within a few ticks of /proc/stat's 10 ms resolution.
constexpr double kShortestInterval_s = 0.1;

double process_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

}  // namespace

std::optional<double> idle_ticks(const char* proc_stat, const cpu_set_t& cpus) {
  std::istringstream in(proc_stat);
  std::string line;
  double idle = 0;
  bool any = false;
  while (std::getline(in, line)) {
    int cpu = -1;
    unsigned long long user, nice, system, idle_t, iowait;
    // "cpuN user nice system idle iowait ...": the aggregate "cpu " line has no N and is skipped.
    if (line.size() < 4 || line.compare(0, 3, "cpu") != 0 || !std::isdigit(static_cast<unsigned char>(line[3]))) continue;
    if (std::sscanf(line.c_str(), "cpu%d %llu %llu %llu %llu %llu", &cpu, &user, &nice, &system, &idle_t, &iowait) != 6) continue;
    if (cpu < 0 || cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &cpus)) continue;
    idle += static_cast<double>(idle_t + iowait);
    any = true;
  }
  return any ? std::optional<double>(idle) : std::nullopt;
}

CpuCapacity::CpuCapacity() {
  CPU_ZERO(&cpus_);
  if (sched_getaffinity(0, sizeof(cpus_), &cpus_) != 0) CPU_ZERO(&cpus_);
  last_ = read();
}

CpuCapacity::Reading CpuCapacity::read() const {
  Reading r;
  r.wall = Clock::now();
  r.own_s = process_cpu_seconds();
  std::ifstream file("/proc/stat");
  std::stringstream text;
  text << file.rdbuf();
  const std::optional<double> ticks = file ? idle_ticks(text.str().c_str(), cpus_) : std::nullopt;
  const long hz = sysconf(_SC_CLK_TCK);
  if (!ticks || hz <= 0) return r;
  r.ok = true;
  r.idle_s = *ticks / static_cast<double>(hz);
  return r;
}

std::optional<double> CpuCapacity::sample() {
  const Reading now = read(), before = last_;
  last_ = now;
  const double wall_s = std::chrono::duration<double>(now.wall - before.wall).count();
  if (!now.ok || !before.ok || wall_s < kShortestInterval_s) return std::nullopt;
  return ((now.idle_s - before.idle_s) + (now.own_s - before.own_s)) / wall_s;
}

}  // namespace sparrow::runtime
