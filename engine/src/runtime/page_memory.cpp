#include "runtime/page_memory.h"

#include <sys/mman.h>

#include <algorithm>
#include <string>

#include "sparrow/error.h"

namespace sparrow::runtime {

std::shared_ptr<std::byte> map_pages(size_t bytes, const char* what) {
  const size_t length = std::max<size_t>(bytes, 1);
  void* p = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    throw Error(ErrorCode::kResourceExhausted, "cannot allocate " + std::to_string(bytes) + " bytes of " + what);
  }
  return std::shared_ptr<std::byte>(static_cast<std::byte*>(p), [length](std::byte* q) { munmap(q, length); });
}

}  // namespace sparrow::runtime
