#include "yolo/jpeg_markers.h"

#include <algorithm>
#include <cstring>

#include "yolo/byte_view.h"

namespace sparrow::yolo {
namespace {

constexpr uint8_t kEndOfImage = 0xD9;
constexpr uint8_t kStartOfScan = 0xDA;

// SOF0..SOF15, minus the three codes in that range that are not frame headers (DHT, JPG, DAC).
bool is_frame_header(uint8_t marker) {
  return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
}

// TEM and RST0..RST7 carry no length field.
bool is_standalone(uint8_t marker) { return marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7); }

// Returns the position of the next marker code at or after `pos`, or the size when there is none.
// Skips what libjpeg skips: any bytes before an FF (entropy-coded data or garbage), FF fill bytes,
// and FF 00 (a stuffed zero inside entropy-coded data). Matching libjpeg keeps the frame size we
// check the same one the decoder will allocate for.
size_t next_marker(const ByteView& bytes, size_t pos) {
  while (pos < bytes.size()) {
    const void* ff = std::memchr(bytes.data() + pos, 0xFF, bytes.size() - pos);
    if (ff == nullptr) return bytes.size();
    pos = static_cast<size_t>(static_cast<const uint8_t*>(ff) - bytes.data()) + 1;
    while (pos < bytes.size() && bytes.u8(pos) == 0xFF) ++pos;
    if (pos < bytes.size() && bytes.u8(pos) != 0x00) return pos;
  }
  return bytes.size();
}

void read_frame_header(const ByteView& bytes, size_t segment, JpegMarkers& markers) {
  // Segment layout: length (2), sample precision (1), height (2), width (2), components...
  if (markers.has_frame || !bytes.has(segment, 7)) return;
  markers.has_frame = true;
  markers.height = bytes.be(segment + 3, 2);
  markers.width = bytes.be(segment + 5, 2);
}

}  // namespace

JpegMarkers scan_jpeg_markers(const uint8_t* data, size_t size) {
  const ByteView bytes(data, size);
  JpegMarkers markers;
  size_t pos = 2;  // past SOI
  while (true) {
    pos = next_marker(bytes, pos);
    if (pos >= size) return markers;
    const uint8_t marker = bytes.u8(pos++);
    if (marker == kEndOfImage) {
      markers.has_end = true;
      return markers;
    }
    if (is_standalone(marker)) continue;
    if (!bytes.has(pos, 2)) return markers;
    if (is_frame_header(marker)) read_frame_header(bytes, pos, markers);
    if (marker == kStartOfScan) ++markers.scans;
    // libjpeg treats a length below 2 as covering just the length field itself.
    pos += std::max<size_t>(bytes.be(pos, 2), 2);
  }
}

}  // namespace sparrow::yolo
