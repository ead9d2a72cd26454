#include "runtime/team_sizer.h"

#include <algorithm>
#include <array>

namespace sparrow::runtime {

TeamSizer::TeamSizer(int threads, bool adaptive, Capacity capacity, int cpus)
    : threads_(std::max(1, threads)),
      adaptive_(adaptive && threads > 1),
      capacity_(std::move(capacity)),
      capacity_needed_(std::min(threads_, cpus > 0 ? cpus : threads_) - kCapacitySlack),
      current_(std::max(1, threads)) {}

int TeamSizer::next(Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!adaptive_) return current_;
  if (next_probe_ == Clock::time_point{}) {
    next_probe_ = now + wait_;
    if (!team_fits()) current_ = 1;  // busy cores since the plan was compiled
  }
  if (probing_ || now < next_probe_ || recent_count_ == 0) return current_;
  // Runs that are slow from the start (the cores shared before the first run) have no slowdown
  // to bring a probe forward: the first probe waits for the typical run, not for
  // kRunsBetweenProbes of them.
  const int runs_due = probed_ ? kRunsBetweenProbes : kRecent;
  if (runs_since_probe_ < runs_due && !urgent_) return current_;
  urgent_ = false;
  runs_since_probe_ = 0;
  if (current_ == 1 && !team_fits()) {
    // The team would share its cores with another process: the probe is lost without a run.
    wait_ = std::min<Clock::duration>(wait_ * 2, kLongestWait);
    next_probe_ = now + wait_;
    return current_;
  }
  probing_ = true;
  probed_ = true;
  return current_ == 1 ? threads_ : 1;
}

bool TeamSizer::team_fits() const {
  if (!capacity_) return true;
  const std::optional<double> cores = capacity_();
  return !cores || *cores >= capacity_needed_;
}

void TeamSizer::record(int threads, double ms, Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (threads == 1) ++single_runs_;
  if (!adaptive_) return;
  if (threads != current_) {
    // A probe's result, or a run that started before the last change, which ran at the same
    // other size and tells as much.
    if (!probing_) return;
    probing_ = false;
    const bool faster = ms < kMargin * typical_ms();
    wait_ = faster ? Clock::duration(kFirstProbe) : std::min<Clock::duration>(wait_ * 2, kLongestWait);
    next_probe_ = now + wait_;
    settled_ms_ = faster ? 0 : typical_ms();
    if (!faster) return;
    current_ = threads;
    recent_count_ = recent_next_ = 0;
    // The next capacity reading covers runs at the new size only: the team's runs just before
    // were spinning, which counts as this process's time.
    if (capacity_) capacity_();
  }
  ++runs_since_probe_;
  recent_[recent_next_] = ms;
  recent_next_ = (recent_next_ + 1) % kRecent;
  recent_count_ = std::min(recent_count_ + 1, kRecent);
  if (recent_count_ < kRecent) return;
  if (settled_ms_ == 0) settled_ms_ = typical_ms();
  // The typical run got much slower (a lone slow run does not move the median): the machine
  // changed, so probe now rather than seconds from now.
  if (typical_ms() > kSlowdown * settled_ms_) {
    next_probe_ = std::min(next_probe_, now);
    urgent_ = true;
    settled_ms_ = typical_ms();
  }
}

void TeamSizer::abandon(int threads) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (threads != current_ && probing_) {
    probing_ = false;
    runs_since_probe_ = kRunsBetweenProbes;  // it told nothing: the next is due as this one was
  }
}

double TeamSizer::typical_ms() const {
  std::array<double, kRecent> sorted = recent_;
  auto middle = sorted.begin() + recent_count_ / 2;
  std::nth_element(sorted.begin(), middle, sorted.begin() + recent_count_);
  return *middle;
}

int TeamSizer::current() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return current_;
}

int64_t TeamSizer::single_thread_runs() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return single_runs_;
}

}  // namespace sparrow::runtime
