// NumPy .npy files (format 1.0 to 3.0, C order) <-> sparrow::Tensor.
#pragma once

#include <string>

#include "sparrow/tensor.h"

namespace sparrow::cli {

// Throws sparrow::Error naming the file and what is wrong with it.
Tensor read_npy(const std::string& path);
void write_npy(const std::string& path, const Tensor& tensor);

}  // namespace sparrow::cli
