// Bounds-checked reads of integers from untrusted image bytes. Every read checks its range, so a
// parser that forgets a length check fails with an error instead of reading past the buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sparrow/error.h"

namespace sparrow::yolo {

class ByteView {
 public:
  ByteView(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

  // Written so that pos + n cannot overflow.
  bool has(size_t pos, size_t n) const { return pos <= size_ && n <= size_ - pos; }

  bool matches(size_t pos, std::string_view bytes) const {
    if (!has(pos, bytes.size())) return false;
    for (size_t i = 0; i < bytes.size(); ++i) {
      if (data_[pos + i] != static_cast<uint8_t>(bytes[i])) return false;
    }
    return true;
  }

  uint8_t u8(size_t pos) const { return static_cast<uint8_t>(read(pos, 1, false)); }
  uint32_t be(size_t pos, size_t bytes) const { return read(pos, bytes, true); }
  uint32_t le(size_t pos, size_t bytes) const { return read(pos, bytes, false); }

 private:
  uint32_t read(size_t pos, size_t bytes, bool big_endian) const {
    // Parsers check lengths before reading, so landing here out of range is a parser bug.
    if (bytes > 4 || !has(pos, bytes)) {
      throw Error(ErrorCode::kInternal, "image header parser read past the end of the data");
    }
    uint32_t value = 0;
    for (size_t i = 0; i < bytes; ++i) {
      const uint32_t byte = data_[pos + (big_endian ? i : bytes - 1 - i)];
      value = (value << 8) | byte;
    }
    return value;
  }

  const uint8_t* data_;
  size_t size_;
};

}  // namespace sparrow::yolo
