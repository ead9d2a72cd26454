#include "kserve_request.h"

#include "sparrow/yolo/letterbox.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "client_text.h"
#include "kserve_parameters.h"
#include "kserve_tensors.h"
#include "sigbus_guard.h"

namespace sparrow::server {
namespace {

using InputTensor = inference::ModelInferRequest::InferInputTensor;

grpc::Status invalid(const std::string& message) { return {grpc::StatusCode::INVALID_ARGUMENT, message}; }

std::string accepted_inputs(const Model& model, const TensorLayout& t) {
  return "model " + quoted(model.name()) + " takes " + quoted(t.input_name) + " (FP32 or UINT8 [N, " +
         std::to_string(t.channels) + ", " + std::to_string(t.height) + ", " + std::to_string(t.width) + "]) or " +
         quoted(kEncodedImagesInput) + " (BYTES [N])";
}

// Exactly one input, named for one of the model's.
grpc::Status check_input_names(const inference::ModelInferRequest& r, const Model& model, const TensorLayout& t) {
  if (r.inputs_size() == 0) return invalid("the request has no inputs; " + accepted_inputs(model, t));
  std::set<std::string> seen;
  for (const InputTensor& in : r.inputs()) {
    if (in.name() != t.input_name && in.name() != kEncodedImagesInput) {
      return invalid("unknown input " + quoted(in.name()) + "; " + accepted_inputs(model, t));
    }
    if (!seen.insert(in.name()).second) return invalid("more than one input named " + quoted(in.name()));
  }
  if (r.inputs_size() > 1) return invalid("give one input, not both; " + accepted_inputs(model, t));
  return grpc::Status::OK;
}

// raw_input_contents, when used, holds every input and no input has typed contents.
grpc::Status check_raw_use(const inference::ModelInferRequest& r) {
  if (r.raw_input_contents_size() == 0) return grpc::Status::OK;
  if (r.raw_input_contents_size() != r.inputs_size()) {
    return invalid("raw_input_contents has " + std::to_string(r.raw_input_contents_size()) + " entries for " +
                   std::to_string(r.inputs_size()) + " input(s); give one per input, in order");
  }
  for (const InputTensor& in : r.inputs()) {
    if (in.has_contents()) {
      return invalid("input " + quoted(in.name()) + " sets contents while the request uses raw_input_contents");
    }
  }
  return grpc::Status::OK;
}

// The input's bytes when they are not typed contents: its raw_input_contents entry or the
// shared memory its parameters name.
struct InputBytes {
  std::optional<std::string_view> bytes;
  std::string field;                                 // where they came from, for messages
  std::shared_ptr<const SharedMemoryRegion> region;  // set for shared memory
};

grpc::Status shared_input_bytes(const inference::ModelInferRequest& r, const SharedMemoryReference& ref,
                                const SharedMemoryRegions& regions, InputBytes* out) {
  const InputTensor& in = r.inputs(0);
  if (in.has_contents() || r.raw_input_contents_size() > 0) {
    return invalid("input " + quoted(in.name()) + " is in shared memory region " + quoted(ref.region) +
                   "; it must not also have contents or raw_input_contents");
  }
  out->region = regions.find(ref.region);
  if (!out->region) {
    return invalid("input " + quoted(in.name()) + ": no shared memory region named " + quoted(ref.region) +
                   " is registered (SystemSharedMemoryRegister)");
  }
  const std::string_view region = out->region->bytes();
  if (ref.offset > region.size() || ref.byte_size > region.size() - ref.offset) {
    return invalid("input " + quoted(in.name()) + ": offset " + std::to_string(ref.offset) + " and " +
                   std::to_string(ref.byte_size) + " bytes run past the end of shared memory region " +
                   quoted(ref.region) + " (" + std::to_string(region.size()) + " bytes)");
  }
  out->bytes = region.substr(ref.offset, ref.byte_size);
  out->field = "shared_memory_byte_size";
  return grpc::Status::OK;
}

grpc::Status input_bytes(const inference::ModelInferRequest& r, const SharedMemoryRegions& regions, InputBytes* out) {
  std::optional<SharedMemoryReference> ref;
  if (grpc::Status s = shared_memory_reference(r.inputs(0).parameters(), r.inputs(0).name(), &ref); !s.ok()) return s;
  if (ref) return shared_input_bytes(r, *ref, regions, out);
  if (r.raw_input_contents_size() > 0) {
    out->bytes = r.raw_input_contents(0);
    out->field = "raw_input_contents";
  }
  return grpc::Status::OK;
}

grpc::Status count_mismatch(const InputTensor& in, const std::string& field, int64_t have, const std::string& unit,
                            int64_t need) {
  return invalid("input " + quoted(in.name()) + ": " + field + " holds " + std::to_string(have) + " " + unit +
                 ", but " + in.datatype() + " " + shape_text(in.shape()) + " needs " + std::to_string(need));
}

grpc::Status plan_tensor(const inference::ModelInferRequest& r, const Model& model, const TensorLayout& t,
                         InputBytes raw, InferPlan* plan) {
  const InputTensor& in = r.inputs(0);
  if (in.datatype() != "FP32" && in.datatype() != "UINT8") {
    return invalid("input " + quoted(in.name()) + " has datatype " + quoted(in.datatype()) + "; expected FP32 or UINT8");
  }
  const KServeShape& s = in.shape();
  const std::optional<int64_t> elements = element_count(s);
  if (s.size() != 4 || s[0] < 1 || s[1] != t.channels || s[2] != t.height || s[3] != t.width || !elements) {
    return invalid("input " + quoted(in.name()) + " has shape " + shape_text(s) + "; model " + quoted(model.name()) +
                   " takes [N, " + std::to_string(t.channels) + ", " + std::to_string(t.height) + ", " +
                   std::to_string(t.width) + "] with N >= 1");
  }
  plan->items = static_cast<size_t>(s[0]);
  TensorInput& input = plan->tensor;
  input.uint8 = in.datatype() == "UINT8";
  if (raw.bytes) {
    input.raw = raw.bytes;
    input.region = std::move(raw.region);
    const int64_t bytes = *elements * (input.uint8 ? 1 : 4);
    if (static_cast<int64_t>(input.raw->size()) != bytes) {
      return count_mismatch(in, raw.field, static_cast<int64_t>(input.raw->size()), "bytes", bytes);
    }
  } else if (input.uint8) {
    input.uint = &in.contents().uint_contents();
    if (input.uint->size() != *elements) {
      return count_mismatch(in, "contents.uint_contents", input.uint->size(), "values", *elements);
    }
  } else {
    input.fp32 = &in.contents().fp32_contents();
    if (input.fp32->size() != *elements) {
      return count_mismatch(in, "contents.fp32_contents", input.fp32->size(), "values", *elements);
    }
  }
  return grpc::Status::OK;
}

// Runs `read` over shared memory under the SIGBUS guard; INVALID_ARGUMENT naming the input when
// the region's owner has truncated its object since registering it.
template <class Read>
grpc::Status read_region(const std::string& input, const SharedMemoryRegion& region, Read& read) {
  if (read_guarded(read)) return grpc::Status::OK;
  return invalid("input " + quoted(input) + ": shared memory region " + quoted(region.name()) +
                 " could not be read: its object is smaller than when it was registered");
}

// Encoded images are decoded by code that cannot be abandoned mid-read, so images in shared
// memory are copied out first, under the SIGBUS guard.
grpc::Status own_shared_images(const InputTensor& in, InputBytes& raw, InferPlan* plan) {
  auto copy = std::make_shared<std::string>(raw.bytes->size(), '\0');
  auto read = [&] { std::memcpy(copy->data(), raw.bytes->data(), raw.bytes->size()); };
  if (grpc::Status s = read_region(in.name(), *raw.region, read); !s.ok()) return s;
  raw.bytes = *copy;
  plan->owned_images = std::move(copy);
  return grpc::Status::OK;
}

grpc::Status plan_images(const inference::ModelInferRequest& r, InputBytes raw, InferPlan* plan) {
  const InputTensor& in = r.inputs(0);
  if (in.datatype() != "BYTES") {
    return invalid("input " + quoted(in.name()) + " has datatype " + quoted(in.datatype()) +
                   "; expected BYTES, one encoded image per element");
  }
  const KServeShape& s = in.shape();
  if (!(s.size() == 1 || (s.size() == 2 && s[1] == 1)) || s[0] < 1) {
    return invalid("input " + quoted(in.name()) + " has shape " + shape_text(s) + "; expected [N] or [N, 1] with N >= 1");
  }
  plan->encoded = true;
  plan->items = static_cast<size_t>(s[0]);
  if (raw.bytes) {
    if (raw.region) {
      if (grpc::Status status = own_shared_images(in, raw, plan); !status.ok()) return status;
    }
    auto elements = split_length_prefixed(*raw.bytes);
    if (!elements) {
      return invalid("input " + quoted(in.name()) + ": " + raw.field +
                     " is not a series of 4-byte little-endian lengths each followed by that many bytes");
    }
    plan->images = std::move(*elements);
    if (plan->images.size() != plan->items) {
      return count_mismatch(in, raw.field, static_cast<int64_t>(plan->images.size()), "elements", s[0]);
    }
    return grpc::Status::OK;
  }
  const auto& bytes = in.contents().bytes_contents();
  if (static_cast<size_t>(bytes.size()) != plan->items) {
    return count_mismatch(in, "contents.bytes_contents", bytes.size(), "elements", s[0]);
  }
  for (const std::string& image : bytes) plan->images.emplace_back(image);
  return grpc::Status::OK;
}

// The outputs asked for, each produced for this input: the image tensor gives the raw model output
// (the default) and, on request, the detections its rows hold (in the tensor's own pixels);
// encoded images give detections in their original pixels.
grpc::Status plan_outputs(const inference::ModelInferRequest& r, const TensorLayout& t, InferPlan* plan) {
  const std::vector<std::string> detections = {kDetectionsOutput, kDetectionCountsOutput};
  const std::vector<std::string> tensor = {t.output_name, kDetectionsOutput, kDetectionCountsOutput};
  const std::vector<std::string>& produced = plan->encoded ? detections : tensor;
  if (r.outputs_size() == 0) plan->outputs = plan->encoded ? detections : std::vector<std::string>{t.output_name};
  for (const auto& out : r.outputs()) {
    const std::string& name = out.name();
    std::optional<SharedMemoryReference> ref;
    if (grpc::Status s = shared_memory_reference(out.parameters(), name, &ref); !s.ok()) return s;
    if (ref) {
      return invalid("output " + quoted(name) + " asks for shared memory region " + quoted(ref->region) +
                     ", but outputs are only returned in the response (regions are mapped read-only); drop its "
                     "shared_memory_* parameters");
    }
    if (std::find(produced.begin(), produced.end(), name) != produced.end()) {
      if (std::find(plan->outputs.begin(), plan->outputs.end(), name) != plan->outputs.end()) {
        return invalid("output " + quoted(name) + " is requested more than once");
      }
      plan->outputs.push_back(name);
    } else if (name == t.output_name) {
      return invalid("output " + quoted(name) + " is only produced for " + quoted(t.input_name) + " inputs");
    } else {
      return invalid("unknown output " + quoted(name) + "; the model produces " + quoted(t.output_name) + ", " +
                     quoted(kDetectionsOutput) + " and " + quoted(kDetectionCountsOutput) + " for " +
                     quoted(t.input_name) + ", and the last two for " + quoted(kEncodedImagesInput));
    }
  }
  return grpc::Status::OK;
}

}  // namespace

grpc::Status plan_infer(const inference::ModelInferRequest& request, const Model& model,
                        const SharedMemoryRegions& regions, InferPlan* plan) {
  const TensorLayout t = tensor_layout(model);
  InputBytes raw;
  grpc::Status s = check_input_names(request, model, t);
  if (s.ok()) s = check_raw_use(request);
  if (s.ok()) s = input_bytes(request, regions, &raw);
  plan->raw_output = raw.bytes.has_value();
  if (s.ok()) {
    s = request.inputs(0).name() == t.input_name ? plan_tensor(request, model, t, std::move(raw), plan)
                                                 : plan_images(request, std::move(raw), plan);
  }
  if (s.ok()) s = plan_outputs(request, t, plan);
  if (s.ok()) s = nms_from_parameters(request.parameters(), model.default_nms(), &plan->nms);
  return s;
}

grpc::Status read_tensor_item(const TensorInput& input, const TensorLayout& layout, size_t index, float* dst) {
  const size_t n = layout.input_elements();
  const size_t first = index * n;
  // Bytes are scaled as the letterbox scales them (yolo::unit_floats): UINT8 and FP32 inputs of
  // one image agree bit for bit.
  if (input.raw) {
    auto read = [&] {
      if (input.uint8) {
        yolo::unit_floats(reinterpret_cast<const uint8_t*>(input.raw->data()) + first, n, dst);
      } else {
        std::memcpy(dst, input.raw->data() + first * sizeof(float), n * sizeof(float));
      }
    };
    if (!input.region) {
      read();
    } else if (grpc::Status s = read_region(layout.input_name, *input.region, read); !s.ok()) {
      return s;
    }
  } else if (input.uint) {
    const uint32_t* src = input.uint->data() + first;
    std::vector<uint8_t> bytes(n);
    for (size_t i = 0; i < n; ++i) {
      if (src[i] > 255) {
        return invalid("input " + quoted(layout.input_name) + ": contents.uint_contents[" + std::to_string(first + i) +
                       "] is " + std::to_string(src[i]) + "; UINT8 values are 0..255");
      }
      bytes[i] = static_cast<uint8_t>(src[i]);
    }
    yolo::unit_floats(bytes.data(), n, dst);
  } else {
    std::memcpy(dst, input.fp32->data() + first, n * sizeof(float));
  }
  return grpc::Status::OK;
}

}  // namespace sparrow::server
