// runtime/page_memory.h: page buffers are zeroed, page-aligned, and leave the process's resident
// memory when released (which malloc does not promise for buffers below its mmap threshold).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <fstream>

#include "runtime/page_memory.h"
#include "sparrow/error.h"

namespace sparrow::runtime {
namespace {

int64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

TEST(PageMemory, ZeroedAlignedAndGivenBack) {
  constexpr size_t kBytes = 48u << 20;
  const int64_t before = resident_bytes();
  {
    const std::shared_ptr<std::byte> buffer = map_pages(kBytes, "a test buffer");
    ASSERT_EQ(reinterpret_cast<uintptr_t>(buffer.get()) % static_cast<uintptr_t>(sysconf(_SC_PAGESIZE)), 0u);
    for (size_t i = 0; i < kBytes; i += 4096) ASSERT_EQ(buffer.get()[i], std::byte{0}) << "at " << i;
    std::memset(buffer.get(), 1, kBytes);
    EXPECT_GE(resident_bytes() - before, static_cast<int64_t>(kBytes) * 9 / 10);
  }
  EXPECT_LT(resident_bytes() - before, static_cast<int64_t>(kBytes) / 10);
}

TEST(PageMemory, RefusalNamesWhatWasAsked) {
  try {
    map_pages(size_t{1} << 62, "activations");
    FAIL() << "4 EiB were mapped";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kResourceExhausted);
    EXPECT_NE(std::string(e.what()).find("activations"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sparrow::runtime
