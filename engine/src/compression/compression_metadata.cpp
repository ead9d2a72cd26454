#include "compression/compression_metadata.h"

#include <cmath>

#include <nlohmann/json.hpp>

#ifndef SPARROW_VERSION
#define SPARROW_VERSION "unknown"
#endif

namespace sparrow::compression {
namespace {

using Json = nlohmann::ordered_json;

double rounded(double x) { return std::round(x * 1e6) / 1e6; }

std::string ranked_by(const PruneOptions& options) {
  if (options.method == PruneMethod::kObs) {
    return options.block == 1 ? "OBS saliency w^2/[H^-1]_jj^2" : "OBS saliency of the block, its exact group loss w_B [(H^-1)_BB]^-1 w_B^T";
  }
  return options.block == 1 ? "magnitude" : "L2 norm of the block";
}

Json low_rank(const PruneOptions& options, const PruneReport& report) {
  const int factored = report.pruned_convs();
  return Json{{"method", prune_method_name(options.method)},
              {"sparsity_target", options.sparsity},
              {"sparsity_meaning", "fraction of each factored 1x1 conv's weights removed"},
              {"factorization", "W ~= A.B as two 1x1 convs, rank floor((1 - S).O.I/(O + I)), truncated SVD of W.H^1/2 "
                                "on the centred inputs of the factored model, layer by layer; biases corrected for the mean shift"},
              {"factored_convs", factored},
              {"dense_convs", static_cast<int>(report.layers.size()) - factored},
              {"achieved_sparsity", rounded(report.achieved_sparsity())},
              {"conv_sparsity", rounded(report.conv_sparsity())},
              {"calibration_images", options.calibration_images.size()},
              {"calibration_source", options.calibration_source},
              {"seed", options.seed}};
}

Json pruning(const PruneOptions& options, const PruneReport& report) {
  if (options.method == PruneMethod::kLowRank) return low_rank(options, report);
  const int pruned = report.pruned_convs();
  Json text{{"method", prune_method_name(options.method)},
            {"sparsity_target", options.sparsity},
            {"block", options.block},
            {"block_axis", "input channels"},
            {"allocation", sparsity_allocation_name(options.allocation)},
            {"ranked_by", ranked_by(options)},
            {"pruned_convs", pruned},
            {"dense_convs", static_cast<int>(report.layers.size()) - pruned},
            {"achieved_sparsity", rounded(report.achieved_sparsity())},
            {"conv_sparsity", rounded(report.conv_sparsity())}};
  if (options.method == PruneMethod::kObs) {
    text["weights_updated"] = "zeros chosen by OBC (exact greedy OBS per row) where a layer's rows x columns^3 <= 4e11, "
                              "else by SparseGPT; kept weights refitted exactly, layer by layer on the pruned model's "
                              "inputs, towards the dense model's layer outputs; biases corrected for the mean shift";
    text["calibration_images"] = options.calibration_images.size();
    text["calibration_source"] = options.calibration_source;
    text["seed"] = options.seed;
  }
  return text;
}

void set_metadata(onnx::ModelProto& model, const std::string& key, const std::string& value) {
  for (auto& entry : *model.mutable_metadata_props()) {
    if (entry.key() == key) {
      entry.set_value(value);
      return;
    }
  }
  auto* entry = model.add_metadata_props();
  entry->set_key(key);
  entry->set_value(value);
}

}  // namespace

void record_compression(onnx::ModelProto& model, const CompressOptions& options, const CompressReport& report) {
  Json text = {{"tool", std::string("sparrow ") + SPARROW_VERSION}};
  if (options.prune && report.prune) text["pruning"] = pruning(*options.prune, *report.prune);
  if (options.int8 && report.int8) {
    const QuantizeOptions& q = *options.int8;
    text["quantization"] = "int8 static QDQ";
    text["weights"] = "s8 symmetric per output channel";
    text["activations"] = "u8 per tensor";
    text["calibration_method"] = calibration_method_name(q.calibration.method);
    text["calibration_images"] = q.calibration.images.size();
    text["calibration_source"] = q.calibration_source;
    text["int8_nodes"] = report.int8->int8_nodes.size();
    text["float_convs"] = report.int8->float_convs.size();
  }
  set_metadata(model, "sparrow.compression", text.dump());
}

}  // namespace sparrow::compression
