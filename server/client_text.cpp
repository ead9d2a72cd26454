#include "client_text.h"

namespace sparrow::server {
namespace {

// The first kMaxEchoedBytes bytes, backed off to the start of a UTF-8 character.
std::string_view head(std::string_view text) {
  size_t n = kMaxEchoedBytes;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  return text.substr(0, n);
}

// Appended pieces rather than operator+ chains, which GCC 12 misreads as overlapping copies.
std::string clip(std::string_view text, std::string_view quote) {
  std::string out(quote);
  if (text.size() <= kMaxEchoedBytes) return out.append(text).append(quote);
  out.append(head(text)).append("…").append(quote);
  return out.append(" (").append(std::to_string(text.size())).append(" bytes)");
}

}  // namespace

std::string clipped(std::string_view text) { return clip(text, ""); }

std::string quoted(std::string_view text) { return clip(text, "'"); }

}  // namespace sparrow::server
