// Chooses, run by run, whether a plan runs on its whole team or on one thread.
//
// libgomp's threads spin at every barrier for a few milliseconds before they sleep. On cores of
// their own that is what makes a run fast; on cores shared with another busy process a thread
// spins while the teammate it waits for is descheduled, and a 2-core run of yolov5n beside a
// second one fell from 50 to 10 items/s. One thread per run has no barriers to wait at: beside
// that second process it kept 30 items/s, while two threads alone are 1.7x one thread. Which is
// faster depends on what else runs, so it is measured as the plan runs: it keeps the team size
// whose recent runs were fastest, and now and then times one run with the other size (a probe),
// more often right after a change or when the typical run slows down, less often while the
// choice holds. A probe of the whole team costs a spinning run when another process holds the
// cores, so it is only tried when the cores were free enough to hold the team (a capacity
// reading, cpu_capacity.h); the first run starts on one thread when they were not.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>

namespace sparrow::runtime {

class TeamSizer {
 public:
  using Clock = std::chrono::steady_clock;

  // The cores the team could have had to itself since the previous call (CpuCapacity::sample),
  // nullopt when unknown. An empty function: always enough.
  using Capacity = std::function<std::optional<double>()>;

  // A team of `threads`; adaptive false always uses all of them. `cpus`: how many the process
  // may use (0: as many as threads); a larger team needs them all free, not more.
  TeamSizer(int threads, bool adaptive, Capacity capacity = {}, int cpus = 0);

  // The thread count for the next run: the team, 1, or (as a probe) the other of the two.
  int next(Clock::time_point now = Clock::now());
  // A run's thread count (as next() returned it) and its duration.
  void record(int threads, double ms, Clock::time_point now = Clock::now());
  // A run that failed: it tells nothing, but a probe must not stay pending.
  void abandon(int threads);
  // The size ordinary runs use now (not a probe's).
  int current() const;
  int64_t single_thread_runs() const;

  static constexpr double kMargin = 0.9;    // a probe must be 10 % faster to win
  static constexpr double kSlowdown = 1.5;  // a typical run this much slower brings a probe forward
  static constexpr std::chrono::milliseconds kFirstProbe{250}, kLongestWait{8000};
  // A probe costs about one run at the other size, so at least this many runs at the current
  // size come between two, unless the typical run slowed down: with yolov5l at batch 8 (3.5 s a
  // run) the waits above made every other run a probe, half of them on one thread.
  static constexpr int kRunsBetweenProbes = 20;
  // The team is tried when the cores it would run on were this close to free: within half a
  // core of its size.
  static constexpr double kCapacitySlack = 0.5;

 private:
  static constexpr int kRecent = 5;
  double typical_ms() const;  // median of the recent runs at the current size
  bool team_fits() const;     // the capacity since the last reading holds the whole team

  const int threads_;
  const bool adaptive_;
  const Capacity capacity_;
  const double capacity_needed_;
  mutable std::mutex mutex_;
  int current_;
  bool probing_ = false;
  bool probed_ = false;  // a probe has run (before it, kRecent runs are enough to start one)
  std::array<double, kRecent> recent_{};
  int recent_count_ = 0, recent_next_ = 0;
  int runs_since_probe_ = 0;
  bool urgent_ = false;  // the typical run slowed down: probe without waiting for kRunsBetweenProbes
  double settled_ms_ = 0;  // the typical run when the size was last confirmed (0: not yet known)
  Clock::duration wait_ = kFirstProbe;
  Clock::time_point next_probe_{};
  int64_t single_runs_ = 0;
};

}  // namespace sparrow::runtime
