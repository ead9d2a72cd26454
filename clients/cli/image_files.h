// Reading the image files a command sends.
#pragma once

#include <string>

namespace sparrow::client {

// The file's bytes; sparrow::Error naming the path if it is missing, a folder or unreadable.
std::string read_file_bytes(const std::string& path);

// The load generator's default image, shared/data/images/bus.jpg, found as the server finds its
// default model (yolo::require_shared_file).
std::string default_image();

}  // namespace sparrow::client
