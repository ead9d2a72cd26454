// How much CPU a team of threads could have had to itself: over the time since the previous
// sample, the process's CPUs' idle time (/proc/stat, steal counting as taken) plus the time the
// process itself ran, in cores. A core kept busy by another process (or by the hypervisor) is
// not in it. TeamSizer reads it before it tries the whole team: on cores shared with a busy
// process a two-thread run spins while its teammate waits for the CPU, and one such run of
// yolov5n took 560 ms against 33 ms on one thread.
#pragma once

#include <sched.h>

#include <chrono>
#include <optional>

namespace sparrow::runtime {

class CpuCapacity {
 public:
  using Clock = std::chrono::steady_clock;

  CpuCapacity();  // the first sample
  // Cores idle or ours since the previous call (or construction), and starts the next interval;
  // nullopt when /proc/stat cannot be read or too little time passed to tell.
  std::optional<double> sample();

 private:
  struct Reading {
    bool ok = false;
    double idle_s = 0;  // summed over the process's CPUs
    double own_s = 0;   // the process's CPU time
    Clock::time_point wall;
  };
  Reading read() const;

  cpu_set_t cpus_;
  Reading last_;
};

// The cores in `cpus` that /proc/stat's text shows idle (idle + iowait), in clock ticks; nullopt
// when the text has none of them. Separate for its test.
std::optional<double> idle_ticks(const char* proc_stat, const cpu_set_t& cpus);

}  // namespace sparrow::runtime
