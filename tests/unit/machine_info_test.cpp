// The memory limit a compile judges against (runtime/machine_info.h), read from a fake /proc and
// /sys/fs/cgroup: the tightest of the process's cgroup, its ancestors and MemAvailable.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "runtime/machine_info.h"

namespace sparrow::runtime {
namespace {
namespace fs = std::filesystem;

constexpr size_t kMiB = size_t{1} << 20;

// A root holding /proc/self/cgroup ("0::/app/job"), /proc/meminfo and cgroup files as given.
class FakeRoot {
 public:
  FakeRoot() : path_(fs::temp_directory_path() / ("sparrow-machine-" + std::to_string(::getpid()))) {
    fs::remove_all(path_);
    write("proc/self/cgroup", "12:memory:/v1/ignored\n0::/app/job\n");
  }
  ~FakeRoot() { fs::remove_all(path_); }
  void write(const std::string& relative, const std::string& text) const {
    const fs::path p = path_ / relative;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  void mem_available(size_t bytes) const {
    write("proc/meminfo", "MemTotal:       99999999 kB\nMemAvailable:   " + std::to_string(bytes / 1024) + " kB\n");
  }
  // memory.max (a number or "max"), memory.current and the inactive file pages of one cgroup.
  void cgroup(const std::string& dir, const std::string& max, size_t current, size_t inactive_file = 0) const {
    const std::string base = "sys/fs/cgroup" + dir;
    write(base + "/memory.max", max + "\n");
    write(base + "/memory.current", std::to_string(current) + "\n");
    write(base + "/memory.stat", "anon 1\ninactive_anon 2\ninactive_file " + std::to_string(inactive_file) + "\n");
  }
  std::string root() const { return path_.string() + "/"; }

 private:
  fs::path path_;
};

TEST(MachineInfo, CgroupLimitLeftWhenTighterThanMemAvailable) {
  FakeRoot r;
  r.mem_available(8192 * kMiB);
  // 2048 MiB allowed, 1024 used of which 256 are inactive file pages the kernel would reclaim.
  r.cgroup("/app/job", std::to_string(2048 * kMiB), 1024 * kMiB, 256 * kMiB);
  EXPECT_EQ(available_memory_bytes(r.root()), 1280 * kMiB);
}

TEST(MachineInfo, AncestorsLimitsApplyToo) {
  FakeRoot r;
  r.mem_available(8192 * kMiB);
  r.cgroup("/app/job", "max", 100 * kMiB);
  r.cgroup("/app", std::to_string(1024 * kMiB), 900 * kMiB);
  r.cgroup("", std::to_string(4096 * kMiB), 0);  // the hierarchy's root, as a container sees its own
  EXPECT_EQ(available_memory_bytes(r.root()), 124 * kMiB);
}

TEST(MachineInfo, MemAvailableWhenTighterOrWithoutCgroupLimit) {
  FakeRoot r;
  r.mem_available(512 * kMiB);
  r.cgroup("/app/job", std::to_string(2048 * kMiB), 0);
  EXPECT_EQ(available_memory_bytes(r.root()), 512 * kMiB);
  r.cgroup("/app/job", "max", 0);
  EXPECT_EQ(available_memory_bytes(r.root()), 512 * kMiB);
}

TEST(MachineInfo, NothingLeftOverTheLimit) {
  FakeRoot r;
  r.mem_available(8192 * kMiB);
  r.cgroup("/app/job", std::to_string(1024 * kMiB), 1100 * kMiB);
  EXPECT_EQ(available_memory_bytes(r.root()), 0u);
}

TEST(MachineInfo, PhysicalMemoryWhenNothingIsKnown) {
  FakeRoot r;
  EXPECT_EQ(available_memory_bytes(r.root()),
            static_cast<size_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<size_t>(sysconf(_SC_PAGE_SIZE)));
}

}  // namespace
}  // namespace sparrow::runtime
