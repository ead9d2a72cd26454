// ONNX's own backend test cases (Debian's libonnx-testdata) run through Sparrow.
//
// Every case directory under node/ and pytorch-converted/ whose model uses only ops the engine
// claims becomes one test. Each test compiles the model with the optimised kernels and with the
// reference kernels only (and, where a Conv or Pow reads weights from graph inputs, once more
// with those frozen so the oneDNN kernels run), runs every test_data_set_N and compares all
// outputs with output_K.pb. Cases listed in expected_unsupported.txt must instead fail to compile
// with kUnsupported; any other outcome (a pass of a listed case, a failure of an unlisted one)
// fails, so the list stays honest.
#include <gtest/gtest.h>

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "onnx/tensor_proto.h"
#include "ops/op_registry.h"
#include "sparrow/engine.h"
#include "sparrow/error.h"

namespace sparrow {
namespace {

namespace fs = std::filesystem;

// The collections of ONNX's backend tests that this suite runs. (real/ holds only download
// links; pytorch-operator/ is all opset 6, which the importer rejects.)
constexpr const char* kCollections[] = {"node", "pytorch-converted"};

std::string testdata_dir() {
  if (const char* env = std::getenv("SPARROW_ONNX_TESTDATA"); env && *env) return env;
  return SPARROW_ONNX_TESTDATA_DEFAULT;
}

std::string read_file(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream buffer;
  buffer << file.rdbuf();
  return buffer.str();
}

struct Case {
  std::string name;        // the case directory's name, e.g. "test_add_bcast"
  std::string collection;  // "node" or "pytorch-converted"
  fs::path dir;
  std::set<std::string> ops;  // op types the model uses
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.collection << "/" << c.name; }

// gtest names allow only letters, digits and '_'; ONNX's case names already are.
std::string case_label(const ::testing::TestParamInfo<Case>& info) { return info.param.name; }

struct Catalogue {
  std::vector<Case> runnable;                               // every op is one the engine claims
  std::map<std::string, std::vector<std::string>> skipped;  // case -> ops the engine lacks
  std::string error;                                        // why scanning failed, if it did
};

// Ops of a model outside the engine's claimed set, each in its domain (empty: the case is runnable).
std::vector<std::string> unclaimed_ops(const onnx::ModelProto& model) {
  std::set<std::string> missing;
  for (const onnx::NodeProto& node : model.graph().node()) {
    if (ops::find_op(node.domain(), node.op_type())) continue;
    const bool default_domain = node.domain().empty() || node.domain() == "ai.onnx";
    missing.insert(default_domain ? node.op_type() : node.domain() + "." + node.op_type());
  }
  return {missing.begin(), missing.end()};
}

const Catalogue& catalogue() {
  static const Catalogue cat = [] {
    Catalogue c;
    std::set<std::string> names;
    for (const char* collection : kCollections) {
      const fs::path root = fs::path(testdata_dir()) / collection;
      std::error_code ec;
      if (!fs::is_directory(root, ec)) {
        c.error = "no test data at " + root.string() + " (install libonnx-testdata or set SPARROW_ONNX_TESTDATA)";
        continue;
      }
      std::vector<fs::path> dirs;
      for (const auto& entry : fs::directory_iterator(root)) {
        if (entry.is_directory() && fs::exists(entry.path() / "model.onnx")) dirs.push_back(entry.path());
      }
      std::sort(dirs.begin(), dirs.end());
      for (const fs::path& dir : dirs) {
        const std::string name = dir.filename().string();
        if (!names.insert(name).second) c.error = "case name " + name + " appears in two collections";
        onnx::ModelProto model;
        if (!model.ParseFromString(read_file(dir / "model.onnx"))) {
          c.skipped[name] = {"<unparseable model.onnx>"};
          continue;
        }
        std::vector<std::string> missing = unclaimed_ops(model);
        if (missing.empty()) {
          std::set<std::string> ops;
          for (const onnx::NodeProto& node : model.graph().node()) ops.insert(node.op_type());
          c.runnable.push_back({name, collection, dir, std::move(ops)});
        } else {
          c.skipped[name] = std::move(missing);
        }
      }
    }
    return c;
  }();
  return cat;
}

// expected_unsupported.txt: one case name per line; '#' starts a comment (the reason).
const std::map<std::string, std::string>& expected_unsupported() {
  static const std::map<std::string, std::string> cases = [] {
    std::map<std::string, std::string> out;
    std::ifstream file(SPARROW_CONFORMANCE_EXPECTATIONS);
    std::string line;
    while (std::getline(file, line)) {
      const size_t hash = line.find('#');
      const std::string reason = hash == std::string::npos ? "" : line.substr(hash + 1);
      std::istringstream words(line.substr(0, hash));
      std::string name;
      if (words >> name) out[name] = reason;
    }
    return out;
  }();
  return cases;
}

// ---- Reading a case

struct DataSet {
  std::string name;                   // "test_data_set_0"
  std::vector<onnx::TensorProto> inputs, outputs;
};

std::vector<onnx::TensorProto> read_protos(const fs::path& dir, const char* prefix) {
  std::vector<onnx::TensorProto> protos;
  for (int k = 0;; ++k) {
    const fs::path path = dir / (std::string(prefix) + std::to_string(k) + ".pb");
    if (!fs::exists(path)) break;
    onnx::TensorProto proto;
    // Sequence and optional inputs are other protos; they parse as a tensor without dims or data,
    // and the engine rejects those models (non-tensor inputs) before the values matter.
    proto.ParseFromString(read_file(path));
    protos.push_back(std::move(proto));
  }
  return protos;
}

std::vector<DataSet> read_data_sets(const fs::path& case_dir) {
  std::vector<DataSet> sets;
  for (const auto& entry : fs::directory_iterator(case_dir)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory() || name.rfind("test_data_set_", 0) != 0) continue;
    sets.push_back({name, read_protos(entry.path(), "input_"), read_protos(entry.path(), "output_")});
  }
  std::sort(sets.begin(), sets.end(), [](const DataSet& a, const DataSet& b) { return a.name < b.name; });
  return sets;
}

// The model's runtime inputs: graph inputs that no initializer provides, in graph order.
std::vector<const onnx::ValueInfoProto*> runtime_inputs(const onnx::ModelProto& model) {
  std::set<std::string> initializers;
  for (const auto& init : model.graph().initializer()) initializers.insert(init.name());
  std::vector<const onnx::ValueInfoProto*> inputs;
  for (const auto& input : model.graph().input()) {
    if (!initializers.count(input.name())) inputs.push_back(&input);
  }
  return inputs;
}

// Each input_K.pb is the K-th runtime input (its own name field is often empty or stale).
std::map<std::string, const onnx::TensorProto*> inputs_by_name(const onnx::ModelProto& model, const DataSet& set) {
  std::map<std::string, const onnx::TensorProto*> out;
  const auto inputs = runtime_inputs(model);
  for (size_t k = 0; k < set.inputs.size() && k < inputs.size(); ++k) {
    if (inputs[k]->type().has_tensor_type()) out[inputs[k]->name()] = &set.inputs[k];
  }
  return out;
}

Shape dims_of(const onnx::TensorProto& proto) { return Shape(proto.dims().begin(), proto.dims().end()); }

Tensor to_tensor(const onnx::TensorProto& proto, const std::string& what) {
  return onnx_import::tensor_from_proto(proto, what);
}

// Op inputs that Sparrow must know at compile time, because it compiles static shapes. The
// backend tests feed them as graph inputs; the retry binds those as frozen inputs.
const std::map<std::string, std::vector<int>>& compile_time_inputs() {
  static const std::map<std::string, std::vector<int>> table = {
      {"Reshape", {1}},   {"Expand", {1}},          {"Slice", {1, 2, 3, 4}}, {"Resize", {1, 2, 3}},
      {"Upsample", {1}},  {"Squeeze", {1}},         {"Unsqueeze", {1}},      {"Split", {1}},
      {"Range", {0, 1, 2}}, {"ConstantOfShape", {0}},
  };
  return table;
}

// Weights that real models store as initializers and that the optimised kernels only take as
// constants (oneDNN packs them at compile time). Backend tests feed them as graph inputs, which
// leaves those kernels unexercised, so one more run freezes them.
const std::map<std::string, std::vector<int>>& weight_inputs() {
  static const std::map<std::string, std::vector<int>> table = {
      {"Conv", {1, 2}}, {"ConvTranspose", {1, 2}}, {"Pow", {1}}, {"Clip", {1, 2}},
  };
  return table;
}

// Graph inputs that some node reads at one of the positions `table` lists for its op.
std::set<std::string> inputs_read_as(const onnx::ModelProto& model, const std::map<std::string, std::vector<int>>& table) {
  std::set<std::string> graph_inputs;
  for (const auto* input : runtime_inputs(model)) graph_inputs.insert(input->name());
  std::set<std::string> found;
  for (const onnx::NodeProto& node : model.graph().node()) {
    auto it = table.find(node.op_type());
    if (it == table.end()) continue;
    for (int i : it->second) {
      if (i < node.input_size() && graph_inputs.count(node.input(i))) found.insert(node.input(i));
    }
  }
  return found;
}

// ---- Comparing

struct Tolerance {
  double rtol = 1e-4, atol = 1e-5;
};

// Per-case tolerances, each with the reason it is needed. (None so far.)
Tolerance tolerance_for(const std::string&) { return {}; }

template <typename T>
::testing::AssertionResult values_match(const Tensor& actual, const Tensor& expected, const Tolerance& tol) {
  const T* a = actual.data_as<T>();
  const T* e = expected.data_as<T>();
  int64_t bad = 0, first = -1;
  for (int64_t i = 0; i < actual.size(); ++i) {
    bool ok;
    if constexpr (std::is_floating_point_v<T>) {
      ok = (std::isnan(a[i]) && std::isnan(e[i])) || a[i] == e[i] ||
           std::abs(static_cast<double>(a[i]) - e[i]) <= tol.atol + tol.rtol * std::abs(static_cast<double>(e[i]));
    } else {
      ok = a[i] == e[i];
    }
    if (!ok && bad++ == 0) first = i;
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " of " << actual.size() << " elements differ (rtol " << tol.rtol
                                       << ", atol " << tol.atol << "); first at flat index " << first << ": actual "
                                       << +a[first] << ", expected " << +e[first];
}

::testing::AssertionResult tensors_match(const Tensor& actual, const Tensor& expected, const Tolerance& tol) {
  if (actual.dtype() != expected.dtype()) {
    return ::testing::AssertionFailure() << "dtype " << dtype_name(actual.dtype()) << ", expected "
                                         << dtype_name(expected.dtype());
  }
  if (actual.shape() != expected.shape()) {
    return ::testing::AssertionFailure() << "shape " << shape_string(actual.shape()) << ", expected "
                                         << shape_string(expected.shape());
  }
  switch (actual.dtype()) {
    case DType::kFloat32: return values_match<float>(actual, expected, tol);
    case DType::kUint8: return values_match<uint8_t>(actual, expected, tol);
    case DType::kInt8: return values_match<int8_t>(actual, expected, tol);
    case DType::kInt32: return values_match<int32_t>(actual, expected, tol);
    case DType::kInt64: return values_match<int64_t>(actual, expected, tol);
    case DType::kBool: return values_match<bool>(actual, expected, tol);
  }
  return ::testing::AssertionFailure() << "unknown dtype";
}

// ---- Compiling and running

struct Compiled {
  std::optional<Engine> engine;
  std::optional<Error> error;  // set when compilation threw a sparrow::Error
};

Compiled compile(const std::string& bytes, const onnx::ModelProto& model, const DataSet& set, bool optimized,
                 const std::set<std::string>& frozen) {
  CompileOptions options;
  options.optimized_kernels = optimized;
  try {
    for (const auto& [name, proto] : inputs_by_name(model, set)) {
      if (frozen.count(name)) {
        options.frozen_inputs[name] = to_tensor(*proto, "frozen input '" + name + "'");
      } else {
        options.input_shapes[name] = dims_of(*proto);
      }
    }
    return {Engine::load_from_bytes(bytes, options), std::nullopt};
  } catch (const Error& e) {
    return {std::nullopt, e};
  }
}

// One way of compiling a case.
struct Variant {
  std::string name;
  bool optimized = true;
  std::set<std::string> frozen;  // graph inputs bound at compile time from the data set
};

std::vector<Variant> variants_of(const onnx::ModelProto& model) {
  std::vector<Variant> variants = {{"optimized kernels", true, {}}, {"reference kernels", false, {}}};
  std::set<std::string> weights = inputs_read_as(model, weight_inputs());
  if (!weights.empty()) variants.push_back({"optimized kernels, constant weights", true, weights});
  return variants;
}

class OnnxBackendTest : public ::testing::TestWithParam<Case> {};

TEST_P(OnnxBackendTest, MatchesExpectedOutputs) {
  const Case& c = GetParam();
  const std::string bytes = read_file(c.dir / "model.onnx");
  onnx::ModelProto model;
  ASSERT_TRUE(model.ParseFromString(bytes));
  const std::vector<DataSet> sets = read_data_sets(c.dir);
  ASSERT_FALSE(sets.empty()) << "no test_data_set_* in " << c.dir;
  const auto listed = expected_unsupported().find(c.name);
  const bool expect_unsupported = listed != expected_unsupported().end();
  const std::set<std::string> shape_inputs = inputs_read_as(model, compile_time_inputs());

  for (const DataSet& set : sets) {
    for (const Variant& variant : variants_of(model)) {
      SCOPED_TRACE(set.name + ", " + variant.name);
      Compiled compiled = compile(bytes, model, set, variant.optimized, variant.frozen);
      if (compiled.error && compiled.error->code() == ErrorCode::kUnsupported && !shape_inputs.empty()) {
        // Retry with the shape-like inputs also frozen (bound at compile time and folded like
        // constants): the engine compiles static shapes and needs their values.
        std::set<std::string> frozen = variant.frozen;
        frozen.insert(shape_inputs.begin(), shape_inputs.end());
        compiled = compile(bytes, model, set, variant.optimized, frozen);
      }
      if (expect_unsupported) {
        ASSERT_TRUE(compiled.error.has_value())
            << c.name << " is listed in expected_unsupported.txt (" << listed->second
            << ") but now compiles; check its outputs and remove it from the list";
        EXPECT_EQ(compiled.error->code(), ErrorCode::kUnsupported)
            << "expected kUnsupported, got " << error_code_name(compiled.error->code()) << ": "
            << compiled.error->what();
        continue;
      }
      ASSERT_FALSE(compiled.error.has_value())
          << "compilation failed with " << error_code_name(compiled.error->code()) << ": " << compiled.error->what();
      const Engine& engine = *compiled.engine;

      const auto given = inputs_by_name(model, set);
      std::vector<Tensor> inputs;
      for (const TensorSpec& spec : engine.inputs()) {
        auto it = given.find(spec.name);
        ASSERT_NE(it, given.end()) << "no input_K.pb for runtime input '" << spec.name << "'";
        inputs.push_back(to_tensor(*it->second, "input '" + spec.name + "'"));
      }
      std::vector<Tensor> outputs;
      try {
        outputs = engine.run(inputs);
      } catch (const Error& e) {
        FAIL() << "run failed with " << error_code_name(e.code()) << ": " << e.what();
      }
      ASSERT_EQ(outputs.size(), set.outputs.size()) << "number of outputs";
      for (size_t k = 0; k < outputs.size(); ++k) {
        const Tensor expected = to_tensor(set.outputs[k], "output_" + std::to_string(k) + ".pb");
        EXPECT_TRUE(tensors_match(outputs[k], expected, tolerance_for(c.name)))
            << "output " << k << " ('" << engine.outputs()[k].name << "')";
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Onnx, OnnxBackendTest, ::testing::ValuesIn(catalogue().runnable), case_label);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(OnnxBackendTest);

// Lists what the suite covers and skips, and checks that expected_unsupported.txt names only
// cases that run (a stale entry would otherwise silently stop being checked).
TEST(OnnxBackendSummary, CoverageAndExpectations) {
  const Catalogue& cat = catalogue();
  if (cat.runnable.empty() && cat.skipped.empty()) GTEST_SKIP() << cat.error;
  EXPECT_TRUE(cat.error.empty()) << cat.error;

  EXPECT_TRUE(fs::exists(SPARROW_CONFORMANCE_EXPECTATIONS)) << SPARROW_CONFORMANCE_EXPECTATIONS << " is missing";

  std::map<std::string, std::pair<int, int>> by_op;  // op -> (cases run, of them expected kUnsupported)
  for (const Case& c : cat.runnable) {
    for (const std::string& op : c.ops) {
      ++by_op[op].first;
      by_op[op].second += expected_unsupported().count(c.name) ? 1 : 0;
    }
  }
  std::map<std::string, int> missing_ops;
  for (const auto& [name, ops_missing] : cat.skipped) {
    for (const std::string& op : ops_missing) ++missing_ops[op];
  }
  std::ostringstream summary;
  summary << cat.runnable.size() << " cases run, " << expected_unsupported().size()
          << " of them expected to be kUnsupported. Cases per op (expected kUnsupported):\n";
  for (const auto& [op, counts] : by_op) summary << "  " << op << " " << counts.first << " (" << counts.second << ")\n";
  summary << cat.skipped.size() << " cases skipped because they use ops the engine does not claim:\n";
  for (const auto& [op, count] : missing_ops) summary << "  " << op << " (" << count << " cases)\n";
  std::printf("%s", summary.str().c_str());

  std::set<std::string> runnable;
  for (const Case& c : cat.runnable) runnable.insert(c.name);
  for (const auto& [name, reason] : expected_unsupported()) {
    EXPECT_TRUE(runnable.count(name)) << "expected_unsupported.txt lists " << name
                                      << ", which is not a runnable case (renamed, or its ops are no longer claimed?)";
  }
}

}  // namespace
}  // namespace sparrow
