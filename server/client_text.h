// Text a client chose (model, version, input, output and region names, request ids, parameter
// values, shapes) as status messages and log lines repeat it: clipped, so that a 10 KB name
// cannot make a status too large for the client's metadata limit (grpcio then reports its own
// error instead of the server's) or flood a log. Every such echo goes through here.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sparrow::server {

inline constexpr size_t kMaxEchoedBytes = 64;

// The text when it has at most kMaxEchoedBytes bytes; else its first bytes (whole UTF-8
// characters), "…" and its length: "abc… (10240 bytes)".
std::string clipped(std::string_view text);
// The same in quotes: 'abc', or 'abc…' (10240 bytes).
std::string quoted(std::string_view text);

}  // namespace sparrow::server
