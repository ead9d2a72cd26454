// Finding and reading the image files a command sends.
#pragma once

#include <string>
#include <vector>

namespace sparrow::client {

// Files as given; folders contribute their image files (by extension), sorted.
std::vector<std::string> expand_image_paths(const std::vector<std::string>& paths);

// The file's bytes; sparrow::Error naming the path if it is missing, a folder or unreadable.
std::string read_file_bytes(const std::string& path);

// The load generator's default image: $SPARROW_SHARED_DIR/data/images/bus.jpg, else
// shared/data/images/bus.jpg beside an ancestor of the working directory or of the executable
// (the checkout's ../shared, found the way the server finds its default model).
std::string default_image();

}  // namespace sparrow::client
