// Buffers of whole pages taken from the kernel and given back to it on release: the memory
// arena, the scratchpad and the compiler's timing buffers. Through malloc, freeing tens of
// megabytes raises glibc's mmap threshold (up to 32 MB), so later buffers below it come from the
// heap and stay resident once freed: compiling yolov5l 85 % INT8 at batch 8, whose per-layer
// timings allocate and free each layer's input and output, peaked at 1069 MB instead of 418.
#pragma once

#include <cstddef>
#include <memory>

namespace sparrow::runtime {

// At least `bytes` of zeroed, page-aligned memory, unmapped when the last owner lets go. Throws
// sparrow::Error (kResourceExhausted) naming `what` when the kernel refuses.
std::shared_ptr<std::byte> map_pages(size_t bytes, const char* what);

}  // namespace sparrow::runtime
