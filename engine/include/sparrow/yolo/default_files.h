// Where Sparrow's commands find their defaults: the model and sample images of the `shared`
// folder that sits beside the checkout (../shared), so every tool resolves them the same way.
#pragma once

#include <string>

namespace sparrow::yolo {

// `relative` inside the shared folder: $SPARROW_SHARED_DIR if set, else the first `shared`
// folder holding it beside an ancestor of the working directory or of the executable. Empty if
// none holds it.
std::string find_shared_file(const std::string& relative);

// find_shared_file(), or sparrow::Error (kNotFound): "no <what> given and the default
// ../shared/<relative> was not found; <remedy>".
std::string require_shared_file(const std::string& relative, const std::string& what, const std::string& remedy);

// $SPARROW_MODEL if set, else shared/models/yolov5n.onnx as find_shared_file() finds it.
// sparrow::Error (kNotFound) saying how to pass a model when there is none.
std::string default_model_path();

}  // namespace sparrow::yolo
