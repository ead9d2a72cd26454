// TeamSizer's choice between the whole team and one thread, on a simulated clock: which run
// times make it switch, when it probes, and that it comes back.
#include <gtest/gtest.h>

#include "runtime/team_sizer.h"

namespace sparrow::runtime {
namespace {

using Clock = TeamSizer::Clock;
using std::chrono::milliseconds;

// Drives a sizer: every run takes the time `ms(threads)` says, and the clock advances by it.
struct Driver {
  TeamSizer sizer;
  Clock::time_point now = Clock::time_point() + std::chrono::hours(1);
  int probes = 0;

  explicit Driver(int threads, bool adaptive = true, TeamSizer::Capacity capacity = {})
      : sizer(threads, adaptive, std::move(capacity)) {}

  template <typename Times>
  void run_for(milliseconds duration, Times ms) {
    const Clock::time_point end = now + duration;
    while (now < end) {
      const int current = sizer.current();
      const int threads = sizer.next(now);
      if (threads != current) ++probes;
      const double t = ms(threads);
      now += std::chrono::microseconds(static_cast<int64_t>(t * 1000));
      sizer.record(threads, t, now);
    }
  }
};

double quiet(int threads) { return threads == 1 ? 34 : 20; }      // two threads 1.7x one
double contended(int threads) { return threads == 1 ? 34 : 100; }  // spinning teammates collapse

TEST(TeamSizer, KeepsTheTeamWhileItIsFaster) {
  Driver d(2);
  d.run_for(milliseconds(60'000), quiet);
  EXPECT_EQ(d.sizer.current(), 2);
  // Probes back off to one per kLongestWait: 60 s cost a handful, not one per run.
  EXPECT_GE(d.probes, 3);
  EXPECT_LE(d.probes, 3 + 60'000 / TeamSizer::kLongestWait.count() + 2);
  EXPECT_EQ(d.sizer.single_thread_runs(), d.probes);
}

TEST(TeamSizer, DropsToOneThreadUnderContentionAndComesBack) {
  Driver d(2);
  d.run_for(milliseconds(5'000), quiet);
  ASSERT_EQ(d.sizer.current(), 2);
  // The slowdown brings a probe forward: one thread within a fraction of a second.
  d.run_for(milliseconds(500), contended);
  EXPECT_EQ(d.sizer.current(), 1);
  d.run_for(milliseconds(30'000), contended);
  EXPECT_EQ(d.sizer.current(), 1);
  // Once the cores are free again a probe of the whole team wins within kLongestWait.
  d.run_for(TeamSizer::kLongestWait + milliseconds(500), quiet);
  EXPECT_EQ(d.sizer.current(), 2);
}

// Cores shared from the first run, so badly that a two-thread run takes half a second (a
// CPU-bound process at nice 19 in another session, whose autogroup weighs as much as ours:
// yolov5n fell from 50 to 1.5 items/s on 2 cores): no slowdown ever shows, yet the first probe
// must come within seconds, not after kRunsBetweenProbes such runs.
TEST(TeamSizer, ContendedFromTheStartStillProbesSoon) {
  Driver d(2);
  d.run_for(milliseconds(4'000), [](int threads) { return threads == 1 ? 34.0 : 560.0; });
  EXPECT_EQ(d.sizer.current(), 1);
  EXPECT_GT(d.sizer.single_thread_runs(), 10);
}

// A server's runs are now and then preempted by its own gRPC threads: lone slow runs must not
// bring probes forward, or the probes themselves cost throughput.
TEST(TeamSizer, LoneSlowRunsDoNotBringProbesForward) {
  Driver d(2);
  int run = 0;
  d.run_for(milliseconds(60'000), [&](int threads) { return (++run % 4 == 0 ? 3 : 1) * quiet(threads); });
  EXPECT_EQ(d.sizer.current(), 2);
  EXPECT_LE(d.probes, 3 + 60'000 / TeamSizer::kLongestWait.count() + 2);
}

// Runs of seconds (yolov5l at batch 8): probes come at most once per kRunsBetweenProbes runs, so
// they cost a few percent of the time, not every other run.
TEST(TeamSizer, LongRunsAreProbedRarely) {
  Driver d(2);
  d.run_for(milliseconds(200 * 3'500), [](int threads) { return 1.7 * quiet(threads) * 100; });
  EXPECT_EQ(d.sizer.current(), 2);
  EXPECT_GE(d.probes, 2);
  EXPECT_LE(d.probes, 200 / TeamSizer::kRunsBetweenProbes + 1);
}

TEST(TeamSizer, NeedsAClearWinToSwitch) {
  Driver d(2);
  // One thread only 5 % faster: within the margin, so the team stays.
  d.run_for(milliseconds(20'000), [](int threads) { return threads == 1 ? 19.0 : 20.0; });
  EXPECT_EQ(d.sizer.current(), 2);
}

TEST(TeamSizer, FixedOrSingleTeamsNeverProbe) {
  Driver fixed(2, false);
  fixed.run_for(milliseconds(20'000), contended);
  EXPECT_EQ(fixed.probes, 0);
  EXPECT_EQ(fixed.sizer.current(), 2);
  Driver single(1);
  single.run_for(milliseconds(20'000), quiet);
  EXPECT_EQ(single.probes, 0);
  EXPECT_EQ(single.sizer.single_thread_runs(), 20'000 / 34 + 1);
}

// A busy process holds the other core (capacity: our one core): the sizer starts on one thread
// and never spends a spinning run on the team; once the core is free again, the team comes back
// within kLongestWait.
TEST(TeamSizer, TriesTheTeamOnlyWhenItsCoresAreFree) {
  double cores = 1.0;
  int readings = 0;
  Driver d(2, true, [&]() -> std::optional<double> {
    ++readings;
    return cores;
  });
  int team_runs = 0;
  d.run_for(milliseconds(30'000), [&](int threads) {
    team_runs += threads == 2;
    return threads == 1 ? 34.0 : 560.0;
  });
  EXPECT_EQ(d.sizer.current(), 1);
  EXPECT_EQ(team_runs, 0);
  EXPECT_GE(readings, 3) << "the capacity is read again as probes fall due";
  cores = 2.0;
  d.run_for(TeamSizer::kLongestWait + milliseconds(1'000), quiet);
  EXPECT_EQ(d.sizer.current(), 2);
}

// A team larger than the process's CPUs (3 threads on 2) needs those 2 free, not 3: it is tried.
TEST(TeamSizer, ALargerTeamThanTheCpusNeedsThemAllFreeNotMore) {
  TeamSizer sizer(3, true, [] { return std::optional<double>(2.0); }, 2);
  EXPECT_EQ(sizer.next(Clock::time_point() + std::chrono::hours(1)), 3);
  TeamSizer busy(3, true, [] { return std::optional<double>(1.0); }, 2);
  EXPECT_EQ(busy.next(Clock::time_point() + std::chrono::hours(1)), 1);
}

// Free cores (or no reading at all) change nothing: the team runs and keeps winning its probes.
TEST(TeamSizer, FreeOrUnknownCapacityKeepsTheTeam) {
  for (std::optional<double> cores : {std::optional<double>(1.6), std::optional<double>()}) {
    Driver d(2, true, [cores] { return cores; });
    d.run_for(milliseconds(20'000), quiet);
    EXPECT_EQ(d.sizer.current(), 2);
    EXPECT_GE(d.probes, 2);
  }
}

TEST(TeamSizer, AFailedProbeDoesNotStopProbing) {
  TeamSizer sizer(2, true);
  Clock::time_point now = Clock::time_point() + std::chrono::hours(1);
  for (int i = 0; i < TeamSizer::kRunsBetweenProbes; ++i) sizer.record(sizer.next(now), 20, now);
  now += milliseconds(1000);
  const int probe = sizer.next(now);
  ASSERT_EQ(probe, 1);
  sizer.abandon(probe);
  now += milliseconds(1000);
  EXPECT_EQ(sizer.next(now), 1) << "a new probe once the failed one is given up";
}

}  // namespace
}  // namespace sparrow::runtime
