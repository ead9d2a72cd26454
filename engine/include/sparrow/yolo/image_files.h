// Which files are images, by extension, and the image files a list of paths names.
#pragma once

#include <string>
#include <vector>

namespace sparrow::yolo {

// .bmp .jpg .jpeg .png .tif .tiff .webp, in any case.
bool has_image_extension(const std::string& path);

// Files as given (whatever their extension); folders contribute their image files, sorted.
// sparrow::Error (kIo) naming a folder that cannot be listed.
std::vector<std::string> image_files(const std::vector<std::string>& paths);

}  // namespace sparrow::yolo
