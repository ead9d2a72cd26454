// What a served model is, as the detection API reports it.
#pragma once

#include "model.h"
#include "sparrow/v1/detection.pb.h"

namespace sparrow::server {

void fill_engine_description(const PlanDescription& plan, v1::EngineDescription* out);
void fill_model_info(const Model& model, v1::ModelInfo* out);

}  // namespace sparrow::server
