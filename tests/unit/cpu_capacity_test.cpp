// CpuCapacity's reading of /proc/stat: the idle and iowait ticks of the process's CPUs only, and
// a sample of this machine that is a number of cores.
#include <gtest/gtest.h>

#include <thread>

#include "runtime/cpu_capacity.h"

namespace sparrow::runtime {
namespace {

constexpr const char* kStat =
    "cpu  700 10 100 900 20 0 5 0 0 0\n"
    "cpu0 300 5 50 400 10 0 2 0 0 0\n"
    "cpu1 400 5 50 500 10 0 3 0 0 0\n"
    "cpu2 100 0 0 7 1 0 0 0 0 0\n"
    "intr 1 2 3\n";

TEST(CpuCapacity, CountsIdleAndIowaitOfTheProcesssCpus) {
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  CPU_SET(0, &cpus);
  CPU_SET(2, &cpus);
  EXPECT_EQ(idle_ticks(kStat, cpus), 400 + 10 + 7 + 1);
  CPU_ZERO(&cpus);
  CPU_SET(5, &cpus);
  EXPECT_EQ(idle_ticks(kStat, cpus), std::nullopt) << "no line for the process's CPUs";
  CPU_SET(700, &cpus);
  EXPECT_EQ(idle_ticks(kStat, cpus), std::nullopt) << "the aggregate line is no CPU 700";
  EXPECT_EQ(idle_ticks("garbage\ncpu0 1 2\n", cpus), std::nullopt);
}

TEST(CpuCapacity, SamplesThisMachineInCores) {
  CpuCapacity capacity;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const std::optional<double> cores = capacity.sample();
  ASSERT_TRUE(cores.has_value()) << "/proc/stat is readable here";
  cpu_set_t cpus;
  ASSERT_EQ(sched_getaffinity(0, sizeof(cpus), &cpus), 0);
  EXPECT_GE(*cores, 0.0);
  EXPECT_LE(*cores, CPU_COUNT(&cpus) + 0.5);
  EXPECT_EQ(capacity.sample(), std::nullopt) << "too short an interval to tell";
}

}  // namespace
}  // namespace sparrow::runtime
