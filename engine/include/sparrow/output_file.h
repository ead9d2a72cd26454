// Files Sparrow writes: a path that cannot be written fails before the work that fills it (a
// benchmark, an evaluation, a compression of minutes), and the error says why.
#pragma once

#include <string>

#include "sparrow/error.h"

namespace sparrow {

// sparrow::Error (kIo) naming `path` when a file cannot be created there: its folder does not
// exist or is not a folder, the folder is not writable, or `path` is a folder itself.
void check_writable(const std::string& path);

// Creates folder `path` and its parents unless they exist; sparrow::Error (kIo) naming the folder
// and the reason when it cannot (a file in the way, no permission).
void make_output_folder(const std::string& path);

// Writes `contents` to `path`, replacing it; sparrow::Error (kIo) with the reason when that fails.
void write_text_file(const std::string& path, const std::string& contents);

// The kIo error for a write of `path` that failed just now, with the reason errno holds.
Error write_failed(const std::string& path);

}  // namespace sparrow
