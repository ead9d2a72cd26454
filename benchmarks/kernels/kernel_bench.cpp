// Kernel microbenchmarks: one small ONNX model per problem (built in memory), compiled by Sparrow
// and timed with Google Benchmark. Conv problems come from a benchdnn-like shapes file
// (shapes_yolov5.txt); the other optimised kernels run on a few YOLOv5 shapes each. `_reference`
// variants compile the same model with optimized_kernels = false on the smallest shapes.
// Nothing here asserts anything about time. See benchmarks/README.md.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "sparrow/engine.h"
#include "support/detect_head.h"
#include "support/onnx_builder.h"

#ifndef SPARROW_KERNEL_SHAPES
#define SPARROW_KERNEL_SHAPES "shapes_yolov5.txt"
#endif

namespace {

using sparrow::CompileOptions;
using sparrow::DType;
using sparrow::Engine;
using sparrow::LayerInfo;
using sparrow::PlanDescription;
using sparrow::Shape;
using sparrow::Tensor;
using sparrow::test::Attr;
using sparrow::test::OnnxBuilder;

// ---------------------------------------------------------------------------------------------
// Problems

struct Model {
  std::string bytes;
  std::vector<Tensor> inputs;
};

struct Problem {
  std::string family;    // benchmark name prefix, e.g. "Conv", "MaxPool"
  std::string name;      // the shape part of the benchmark name
  std::string layer_op;  // op of the layer to report in describe(), matched as a prefix
  int layer_skip = 0;    // matching layers to pass over before the one reported
  std::function<Model()> build;  // called only when the benchmark runs
  double flop = 0;       // per run; 0 when not meaningful
  double bytes = 0;      // bytes the op reads and writes per run; 0 when not reported
  bool reference = false;  // also register a `_reference` variant
  std::string kernels;     // CompileOptions::kernels: forces a row (empty: the default choice)
};

int64_t env_int(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const long long parsed = std::strtoll(v, &end, 10);
  if (*end != '\0' || parsed <= 0) {
    std::cerr << "kernel_bench: ignoring " << name << "=" << v << " (not a positive integer)\n";
    return fallback;
  }
  return parsed;
}

int bench_cores() { return static_cast<int>(env_int("SPARROW_BENCH_CORES", 2)); }

double float_bytes(const Shape& s) { return 4.0 * static_cast<double>(sparrow::num_elements(s)); }

std::string dims(const Shape& s) { return sparrow::shape_string(s); }

// Seeded random values in [-1, 1): never uninitialised memory (NaNs and denormals are slow).
Tensor random(const Shape& shape, uint64_t seed) { return sparrow::test::random_tensor(shape, seed); }

// ----- Conv problems from the shapes file ----------------------------------------------------

struct ConvProblem {
  std::string desc, flags_name, where;
  int64_t n = 1, ic = 0, ih = 0, iw = 0, oc = 0, kh = 0, kw = 0, sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1, g = 1;
  std::string activation;  // "", "silu", "relu", "sigmoid"
  bool residual = false, bias = true;

  int64_t oh() const { return (ih + 2 * ph - ((kh - 1) * dh + 1)) / sh + 1; }
  int64_t ow() const { return (iw + 2 * pw - ((kw - 1) * dw + 1)) / sw + 1; }
  double macs() const {
    return static_cast<double>(n) * static_cast<double>(oc) * static_cast<double>(oh()) * static_cast<double>(ow()) *
           static_cast<double>(ic / g) * static_cast<double>(kh) * static_cast<double>(kw);
  }
};

// "n1_ic16_ih160_oc32_kh3_sh2_ph1_g1 silu residual  # where": iw, kw, sw, pw default to the h
// values, dh/dw to 1, n to 1, sh to 1, ph to 0, g to 1.
ConvProblem parse_conv_line(const std::string& line) {
  ConvProblem p;
  const size_t hash = line.find('#');
  if (hash != std::string::npos) {
    p.where = line.substr(hash + 1);
    p.where.erase(0, p.where.find_first_not_of(' '));
  }
  std::istringstream words(line.substr(0, hash));
  words >> p.desc;
  std::map<std::string, int64_t> v;
  std::istringstream parts(p.desc);
  for (std::string part; std::getline(parts, part, '_');) {
    const size_t digit = part.find_first_of("0123456789");
    if (digit == 0 || digit == std::string::npos) throw std::runtime_error("bad field '" + part + "'");
    const std::string key = part.substr(0, digit);
    static const char* known[] = {"n", "ic", "ih", "iw", "oc", "kh", "kw", "sh", "sw", "ph", "pw", "dh", "dw", "g"};
    if (std::find(std::begin(known), std::end(known), key) == std::end(known)) {
      throw std::runtime_error("unknown field '" + key + "'");
    }
    size_t used = 0;
    v[key] = std::stoll(part.substr(digit), &used);
    if (digit + used != part.size()) throw std::runtime_error("bad number in '" + part + "'");
  }
  auto get = [&](const char* key, int64_t fallback) { return v.count(key) ? v[key] : fallback; };
  for (const char* required : {"ic", "ih", "oc", "kh"}) {
    if (!v.count(required)) throw std::runtime_error(std::string("missing field '") + required + "'");
  }
  p.n = get("n", 1);
  p.ic = v["ic"];
  p.ih = v["ih"];
  p.iw = get("iw", p.ih);
  p.oc = v["oc"];
  p.kh = v["kh"];
  p.kw = get("kw", p.kh);
  p.sh = get("sh", 1);
  p.sw = get("sw", p.sh);
  p.ph = get("ph", 0);
  p.pw = get("pw", p.ph);
  p.dh = get("dh", 1);
  p.dw = get("dw", p.dh);
  p.g = get("g", 1);
  for (std::string flag; words >> flag;) {
    if (flag == "silu" || flag == "relu" || flag == "sigmoid") {
      p.activation = flag;
    } else if (flag == "residual") {
      p.residual = true;
    } else if (flag == "nobias") {
      p.bias = false;
    } else {
      throw std::runtime_error("unknown flag '" + flag + "'");
    }
    p.flags_name += "_" + flag;
  }
  if (p.g < 1 || p.ic % p.g != 0 || p.oc % p.g != 0) throw std::runtime_error("ic and oc must be multiples of g");
  if (p.n < 1 || p.ic < 1 || p.oc < 1 || p.kh < 1 || p.kw < 1 || p.sh < 1 || p.sw < 1 || p.dh < 1 || p.dw < 1 ||
      p.ph < 0 || p.pw < 0) {
    throw std::runtime_error("sizes must be positive");
  }
  if (p.oh() < 1 || p.ow() < 1) throw std::runtime_error("the output would be empty");
  return p;
}

std::vector<ConvProblem> read_shapes(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open shapes file " + path + " (set SPARROW_SHAPES)");
  std::vector<ConvProblem> problems;
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    const size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    try {
      problems.push_back(parse_conv_line(line.substr(first)));
    } catch (const std::exception& e) {
      throw std::runtime_error(path + ":" + std::to_string(number) + ": " + e.what());
    }
  }
  return problems;
}

// Conv "c" of x and w (plus a bias "b" if the problem has one), then its activation; returns the
// name of the last output.
std::string add_conv_and_activation(OnnxBuilder& b, const ConvProblem& c, const std::string& x, const std::string& w,
                                    uint64_t seed) {
  std::vector<std::string> conv_inputs = {x, w};
  if (c.bias) {
    b.initializer("b", random({c.oc}, seed + 1));
    conv_inputs.push_back("b");
  }
  b.node("Conv", conv_inputs, {"c"},
         {Attr::Ints("kernel_shape", {c.kh, c.kw}), Attr::Ints("strides", {c.sh, c.sw}),
          Attr::Ints("pads", {c.ph, c.pw, c.ph, c.pw}), Attr::Ints("dilations", {c.dh, c.dw}), Attr::Int("group", c.g)});
  if (c.activation == "silu") {
    b.node("Sigmoid", {"c"}, {"s"}).node("Mul", {"c", "s"}, {"a"});
    return "a";
  }
  if (!c.activation.empty()) {
    b.node(c.activation == "relu" ? "Relu" : "Sigmoid", {"c"}, {"a"});
    return "a";
  }
  return "c";
}

// The model of a Conv problem (with its activation and residual), weights from `weights`.
std::function<Model()> conv_model(const ConvProblem& c, uint64_t seed, std::function<Tensor(const Shape&)> weights) {
  const Shape x = {c.n, c.ic, c.ih, c.iw}, w = {c.oc, c.ic / c.g, c.kh, c.kw}, y = {c.n, c.oc, c.oh(), c.ow()};
  return [c, x, w, y, seed, weights] {
    OnnxBuilder b;
    Model m;
    b.input("x", DType::kFloat32, x);
    b.initializer("w", weights(w));
    m.inputs.push_back(random(x, seed + 2));
    std::string last = add_conv_and_activation(b, c, "x", "w", seed);
    if (c.residual) {
      b.input("r", DType::kFloat32, y);
      b.node("Add", {last, "r"}, {"y"});
      m.inputs.push_back(random(y, seed + 3));
      last = "y";
    }
    b.output(last);
    m.bytes = b.bytes();
    return m;
  };
}

Problem conv_problem(const ConvProblem& c, uint64_t seed) {
  Problem p;
  p.family = "Conv";
  p.name = c.desc + c.flags_name;
  p.layer_op = "Conv";
  p.flop = 2.0 * c.macs();
  p.build = conv_model(c, seed, [seed](const Shape& w) { return random(w, seed); });
  return p;
}

// A Detect conv with its decode (test::head_model), which the passes fuse into one ConvSegmented
// layer: its effective GMAC/s, decode included, reads against the plain Conv row of the same
// shape. 80 classes, so that the conv has YOLOv5's 255 output channels.
Problem conv_segmented_problem(const ConvProblem& c, bool int8) {
  Problem p;
  p.family = int8 ? "QConvSegmented" : "ConvSegmented";
  p.name = c.desc;
  p.layer_op = int8 ? "QLinearConv+Sigmoid+SegmentedElementwise" : "Conv+Sigmoid+SegmentedElementwise";
  p.flop = 2.0 * c.macs();
  p.build = [c, int8] {
    sparrow::test::Head h;
    h.batch = c.n, h.channels = c.ic, h.h = c.ih, h.w = c.iw, h.classes = 80, h.int8 = int8;
    return Model{sparrow::test::head_model(h).bytes(), {sparrow::test::head_input(h)}};
  };
  return p;
}

// Weights in [-1, 1) with a `sparsity` fraction of them zero at random: single weights, or
// (blocks) whole groups of 4 consecutive input channels at one (oc, kh, kw), as a 4-block pruner
// leaves them. Which weights survive does not change the speed, only how many and their shape.
Tensor pruned(const Shape& w, uint64_t seed, double sparsity, bool blocks) {
  Tensor t = random(w, seed);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const int64_t ic = w[1], kvol = w[2] * w[3];
  float* d = t.data_as<float>();
  for (int64_t oc = 0; oc < w[0]; ++oc) {
    for (int64_t k = 0; k < kvol; ++k) {
      for (int64_t c0 = 0; c0 < ic; c0 += blocks ? 4 : 1) {
        if (u(rng) >= sparsity) continue;
        for (int64_t c = c0; c < std::min(ic, c0 + (blocks ? 4 : 1)); ++c) d[(oc * ic + c) * kvol + k] = 0.0f;
      }
    }
  }
  return t;
}

// The rows a sparse variant may use: every sparse row of its data type (`prefix`, the first that
// accepts runs: the JIT one where the CPU has it), or SPARROW_BENCH_SPARSE_KERNELS (a kernel
// filter spec) to time one of them against another, e.g. "sparse-conv-f32-4x1-64x1-*" or
// "sparse-conv-u8s8-4x1-64x2-*,sparse-conv-u8s8-4x1-32x4-*" for the intrinsic rows.
std::string sparse_rows(const std::string& prefix) {
  const char* v = std::getenv("SPARROW_BENCH_SPARSE_KERNELS");
  return v && *v ? v : prefix + "*";
}

// The Conv problem with pruned weights on the sparse rows (`sparse`, forced) or on oneDNN's dense
// row with the same weights; effective_GMAC/s compares the two on dense MACs.
Problem sparse_conv_problem(const ConvProblem& c, uint64_t seed, int percent, bool blocks, bool sparse) {
  Problem p = conv_problem(c, seed);
  p.family = "SparseConv";
  p.name += "/s" + std::to_string(percent) + (blocks ? "_b4" : "") + (sparse ? "/sparse" : "/onednn");
  p.kernels = sparse ? sparse_rows("sparse-conv-f32-") : "f32-conv-onednn";
  p.build = conv_model(c, seed, [seed, percent, blocks](const Shape& w) { return pruned(w, seed, percent / 100.0, blocks); });
  p.reference = false;
  return p;
}

// The convolution `c` in INT8 with weights `wq`, as a QDQ model the passes fuse into one
// QLinearConv: u8 in and out (random input bytes), s8 weights per output channel. With
// `producer`, `c` reads the output of a 1x1 conv of its input's channels with those weights (the
// model's first QLinearConv): the input `c` meets in a model, where a sparse producer hands a
// sparse 1x1 conv its output in the planar layout that it reads in place (kernels/qu8_spconv.h).
Model qdq_conv_model(const ConvProblem& c, const Tensor& wq, uint64_t seed, std::mt19937& rng,
                     const Tensor* producer = nullptr) {
  const Shape x = {c.n, c.ic, c.ih, c.iw};
  OnnxBuilder b;
  Model m;
  b.input("x", DType::kUint8, x);
  b.initializer("xs", Tensor::scalar<float>(0.02f)).initializer("xz", Tensor::scalar<uint8_t>(uint8_t{16}));
  b.initializer("wq", wq).initializer("ws", Tensor::from_vector<float>({c.oc}, std::vector<float>(c.oc, 0.004f)));
  b.initializer("wz", Tensor(DType::kInt8, {c.oc}));
  b.initializer("ys", Tensor::scalar<float>(0.05f)).initializer("yz", Tensor::scalar<uint8_t>(uint8_t{8}));
  b.node("DequantizeLinear", {"x", "xs", "xz"}, {"xf"});
  std::string in = "xf";
  if (producer) {
    b.initializer("wp", *producer).initializer("wps", Tensor::from_vector<float>({c.ic}, std::vector<float>(c.ic, 0.004f)));
    b.initializer("wpz", Tensor(DType::kInt8, {c.ic}));
    b.initializer("ps", Tensor::scalar<float>(0.04f)).initializer("pz", Tensor::scalar<uint8_t>(uint8_t{10}));
    b.node("DequantizeLinear", {"wp", "wps", "wpz"}, {"wpf"}, {Attr::Int("axis", 0)});
    b.node("Conv", {"xf", "wpf"}, {"pc"}, {Attr::Ints("kernel_shape", {1, 1})});
    b.node("QuantizeLinear", {"pc", "ps", "pz"}, {"pq"}).node("DequantizeLinear", {"pq", "ps", "pz"}, {"pf"});
    in = "pf";
  }
  b.node("DequantizeLinear", {"wq", "ws", "wz"}, {"wf"}, {Attr::Int("axis", 0)});
  const std::string last = add_conv_and_activation(b, c, in, "wf", seed);
  b.node("QuantizeLinear", {last, "ys", "yz"}, {c.residual ? "cq" : "y"});
  Tensor xq(DType::kUint8, x);
  for (int64_t i = 0; i < xq.size(); ++i) xq.data_as<uint8_t>()[i] = static_cast<uint8_t>(rng());
  m.inputs.push_back(xq);
  if (c.residual) {  // a quantized residual add, which the passes fuse into the QLinearConv
    const Shape y = {c.n, c.oc, c.oh(), c.ow()};
    b.input("r", DType::kUint8, y);
    b.initializer("rs", Tensor::scalar<float>(0.04f)).initializer("rz", Tensor::scalar<uint8_t>(uint8_t{12}));
    b.initializer("ss", Tensor::scalar<float>(0.06f)).initializer("sz", Tensor::scalar<uint8_t>(uint8_t{20}));
    b.node("DequantizeLinear", {"cq", "ys", "yz"}, {"cf"}).node("DequantizeLinear", {"r", "rs", "rz"}, {"rf"});
    b.node("Add", {"cf", "rf"}, {"sum"}).node("QuantizeLinear", {"sum", "ss", "sz"}, {"y"});
    Tensor rq(DType::kUint8, y);
    for (int64_t i = 0; i < rq.size(); ++i) rq.data_as<uint8_t>()[i] = static_cast<uint8_t>(rng());
    m.inputs.push_back(rq);
  }
  b.output("y", DType::kUint8);
  m.bytes = b.bytes();
  return m;
}

// The same convolution in INT8, the activation and the residual add fused.
// Weights lie within +-63 so CPUs without VNNI run the int8 kernel too.
Problem qconv_problem(const ConvProblem& c, uint64_t seed) {
  Problem p;
  p.family = "QConv";
  p.name = c.desc + c.flags_name;
  p.layer_op = "QLinearConv";
  p.flop = 2.0 * c.macs();
  const Shape w = {c.oc, c.ic / c.g, c.kh, c.kw};
  p.build = [c, w, seed] {
    std::mt19937 rng(static_cast<uint32_t>(seed));
    Tensor wq(DType::kInt8, w);
    for (int64_t i = 0; i < wq.size(); ++i) wq.data_as<int8_t>()[i] = static_cast<int8_t>(static_cast<int>(rng() % 127) - 63);
    return qdq_conv_model(c, wq, seed, rng);
  };
  return p;
}

// OIHW s8 weights with exactly round(sparsity * blocks) of the 1x4 blocks (4 consecutive input
// channels at one output channel and tap) zero, chosen at random. The others are bell-shaped
// (standard deviation 20, within +-63), as per-channel symmetric weights are, which keeps the
// sums of every shape within the sparse rows' 2^24 exactness bound at any sparsity.
Tensor block_pruned_weights(const Shape& w, double sparsity, std::mt19937& rng) {
  const int64_t oc = w[0], ic = w[1], taps = w[2] * w[3], cb = (ic + 3) / 4;
  std::vector<int64_t> blocks(static_cast<size_t>(oc * cb * taps));
  for (size_t i = 0; i < blocks.size(); ++i) blocks[i] = static_cast<int64_t>(i);
  std::shuffle(blocks.begin(), blocks.end(), rng);
  std::normal_distribution<double> bell(0.0, 20.0);
  blocks.resize(static_cast<size_t>(std::llround((1.0 - sparsity) * static_cast<double>(blocks.size()))));
  Tensor t(DType::kInt8, w);
  for (int64_t b : blocks) {
    const int64_t o = b / (cb * taps), c = b / taps % cb, tap = b % taps;
    for (int64_t i = 4 * c; i < std::min(ic, 4 * c + 4); ++i) {
      t.data_as<int8_t>()[(o * ic + i) * taps + tap] = static_cast<int8_t>(std::clamp(std::lround(bell(rng)), -63L, 63L));
    }
  }
  return t;
}

// The INT8 convolution with 1x4-block-pruned weights and no activation (the sparse rows decline
// fused float ones), with its residual add if it has one (`_residual`), on the sparse row
// (`sparse`) or on oneDNN's dense int8 row with the same weights. `_chained`: fed by a pruned 1x1
// conv on the same rows (qdq_conv_model's `producer`), so that a sparse 1x1 conv reads its input
// in place as in a model; oneDNN's dense row reads it in its NHWC.
Problem sparse_qconv_problem(const ConvProblem& c, int percent, bool sparse, uint64_t seed, bool chained = false) {
  Problem p;
  p.family = "SparseQConv";
  p.name = c.desc + (c.residual ? "_residual" : "") + (chained ? "_chained" : "") + "/s" + std::to_string(percent) +
           (sparse ? "/sparse" : "/onednn");
  p.layer_op = "QLinearConv";
  p.layer_skip = chained ? 1 : 0;
  p.flop = 2.0 * c.macs();
  p.kernels = sparse ? sparse_rows("sparse-conv-u8s8-") : "qu8-conv-onednn";
  const Shape w = {c.oc, c.ic, c.kh, c.kw};
  p.build = [c, w, seed, percent, chained] {
    std::mt19937 rng(static_cast<uint32_t>(seed));
    const Tensor wq = block_pruned_weights(w, percent / 100.0, rng);
    ConvProblem plain = c;
    plain.activation.clear();
    if (!chained) return qdq_conv_model(plain, wq, seed, rng);
    const Tensor wp = block_pruned_weights({c.ic, c.ic, 1, 1}, percent / 100.0, rng);
    return qdq_conv_model(plain, wq, seed, rng, &wp);
  };
  return p;
}

// The problems given a reference variant: the smallest (by MACs) of each kernel size x stride
// class, so each class shows its speedup while the plain reference loop stays short.
void mark_conv_references(std::vector<Problem>& problems, const std::vector<ConvProblem>& convs) {
  std::map<std::string, size_t> smallest;
  for (size_t i = 0; i < convs.size(); ++i) {
    const ConvProblem& c = convs[i];
    const std::string cls = std::to_string(c.kh) + "x" + std::to_string(c.kw) + "s" + std::to_string(c.sh) +
                            (c.g > 1 ? "g" : "") + (c.residual ? "r" : "");
    auto it = smallest.find(cls);
    if (it == smallest.end() || c.macs() < convs[it->second].macs()) smallest[cls] = i;
  }
  for (const auto& [cls, i] : smallest) problems[i].reference = true;
}

// ----- The other oneDNN-backed kernels, on YOLOv5 shapes -------------------------------------

// A model of one node reading "x" (and constants), writing `outputs`.
Problem single_op(std::string family, std::string name, const Shape& x, double bytes,
                  std::function<void(OnnxBuilder&)> add_nodes, std::vector<std::string> outputs, uint64_t seed,
                  int opset = 13, std::string layer_op = "") {
  Problem p;
  p.layer_op = layer_op.empty() ? family : layer_op;
  p.family = std::move(family);
  p.name = std::move(name);
  p.bytes = bytes;
  p.build = [x, add_nodes, outputs, seed, opset] {
    OnnxBuilder b(opset);
    b.input("x", DType::kFloat32, x);
    add_nodes(b);
    for (const std::string& o : outputs) b.output(o);
    return Model{b.bytes(), {random(x, seed)}};
  };
  return p;
}

std::vector<Problem> other_problems() {
  std::vector<Problem> out;
  uint64_t seed = 1000;

  // SPPF: three chained MaxPool 5x5 s1 p2 on the 20x20 map (yolov5n 128 channels, yolov5s 256).
  for (int64_t c : {128, 256}) {
    const Shape x = {1, c, 20, 20};
    out.push_back(single_op("MaxPool", dims(x) + "_k5s1p2", x, 2 * float_bytes(x), [](OnnxBuilder& b) {
      b.node("MaxPool", {"x"}, {"y"},
             {Attr::Ints("kernel_shape", {5, 5}), Attr::Ints("strides", {1, 1}), Attr::Ints("pads", {2, 2, 2, 2})});
    }, {"y"}, ++seed, 12));
  }

  // Neck upsampling: nearest x2 (asymmetric, floor), as the YOLOv5 export writes it.
  for (const Shape& x : {Shape{1, 128, 20, 20}, Shape{1, 64, 40, 40}, Shape{1, 256, 20, 20}, Shape{1, 128, 40, 40}}) {
    out.push_back(single_op("Resize", dims(x) + "_nearest_x2", x, 5 * float_bytes(x), [](OnnxBuilder& b) {
      b.initializer("scales", Tensor::from_vector<float>({4}, {1, 1, 2, 2}));
      b.node("Resize", {"x", "", "scales"}, {"y"},
             {Attr::String("mode", "nearest"), Attr::String("coordinate_transformation_mode", "asymmetric"),
              Attr::String("nearest_mode", "floor")});
    }, {"y"}, ++seed));
  }

  // Concats: channel joins of C3 and the neck (2 inputs) and of SPPF (4 inputs), and the Detect
  // head's two (box parts along the last axis, the three scales' rows along axis 1). Every operand
  // is a graph input, so each one comes from memory as in the model.
  struct ConcatCase { std::vector<Shape> parts; int64_t axis; };
  const auto repeat = [](int n, const Shape& s) { return std::vector<Shape>(static_cast<size_t>(n), s); };
  for (const ConcatCase& cc : {ConcatCase{repeat(2, {1, 128, 40, 40}), 1}, ConcatCase{repeat(2, {1, 64, 80, 80}), 1},
                               ConcatCase{repeat(4, {1, 256, 20, 20}), 1}, ConcatCase{repeat(2, {1, 256, 40, 40}), 1},
                               ConcatCase{{{1, 3, 80, 80, 2}, {1, 3, 80, 80, 2}, {1, 3, 80, 80, 81}}, 4},
                               ConcatCase{{{1, 19200, 85}, {1, 4800, 85}, {1, 1200, 85}}, 1}}) {
    Problem p;
    p.family = p.layer_op = "Concat";
    const bool same = std::all_of(cc.parts.begin(), cc.parts.end(), [&](const Shape& x) { return x == cc.parts[0]; });
    if (same) {
      p.name = std::to_string(cc.parts.size()) + "x" + dims(cc.parts[0]);
    } else {
      for (const Shape& x : cc.parts) {
        if (!p.name.empty()) p.name += "+";
        p.name += dims(x);
      }
    }
    p.name += "_axis" + std::to_string(cc.axis);
    for (const Shape& x : cc.parts) p.bytes += 2 * float_bytes(x);
    const uint64_t s = ++seed;
    p.build = [cc, s] {
      OnnxBuilder b;
      Model m;
      std::vector<std::string> names;
      for (size_t i = 0; i < cc.parts.size(); ++i) {
        names.emplace_back("x");
        names.back() += std::to_string(i);  // not "x" + ...: GCC 12 warns falsely (-Wrestrict, PR 105329)
        b.input(names.back(), DType::kFloat32, cc.parts[i]);
        m.inputs.push_back(random(cc.parts[i], s + i));
      }
      b.node("Concat", names, {"y"}, {Attr::Int("axis", cc.axis)}).output("y");
      m.bytes = b.bytes();
      return m;
    };
    out.push_back(std::move(p));
  }

  // Detect head: [1, 3, H, W, 85] at the three strides (80 for P3, 20 for P5).
  for (int64_t hw : {80, 20}) {
    const Shape head = {1, 3, hw, hw, 85};
    out.push_back(single_op("Sigmoid", dims(head), head, 2 * float_bytes(head),
                            [](OnnxBuilder& b) { b.node("Sigmoid", {"x"}, {"y"}); }, {"y"}, ++seed));
    const Shape pre = {1, 3, 85, hw, hw};
    out.push_back(single_op("Transpose", dims(pre) + "_perm01342", pre, 2 * float_bytes(pre), [](OnnxBuilder& b) {
      b.node("Transpose", {"x"}, {"y"}, {Attr::Ints("perm", {0, 1, 3, 4, 2})});
    }, {"y"}, ++seed));
    out.push_back(single_op("Split", dims(head) + "_axis4_2_2_81", head, 2 * float_bytes(head), [](OnnxBuilder& b) {
      b.initializer("split", Tensor::from_vector<int64_t>({3}, {2, 2, 81}));
      b.node("Split", {"x", "split"}, {"xy", "wh", "conf"}, {Attr::Int("axis", 4)});
    }, {"xy", "wh", "conf"}, ++seed));
  }

  // Broadcasting binary ops of the Detect head's box decoding, and one full-size Add.
  for (int64_t hw : {80, 20}) {
    const Shape xy = {1, 3, hw, hw, 2};
    out.push_back(single_op("Mul", dims(xy) + "_by_scalar", xy, 2 * float_bytes(xy), [](OnnxBuilder& b) {
      b.initializer("k", Tensor::scalar<float>(2.0f));
      b.node("Mul", {"x", "k"}, {"y"});
    }, {"y"}, ++seed));
  }
  {
    const Shape xy = {1, 3, 80, 80, 2}, grid = {1, 1, 80, 80, 2}, anchors = {1, 3, 1, 1, 2};
    const uint64_t s = ++seed;
    out.push_back(single_op("Add", dims(xy) + "_plus_" + dims(grid), xy, 2 * float_bytes(xy) + float_bytes(grid),
                            [grid, s](OnnxBuilder& b) {
                              b.initializer("grid", random(grid, s + 1));
                              b.node("Add", {"x", "grid"}, {"y"});
                            }, {"y"}, s));
    const uint64_t s2 = ++seed;
    out.push_back(single_op("Mul", dims(xy) + "_by_" + dims(anchors), xy, 2 * float_bytes(xy) + float_bytes(anchors),
                            [anchors, s2](OnnxBuilder& b) {
                              b.initializer("anchors", random(anchors, s2 + 1));
                              b.node("Mul", {"x", "anchors"}, {"y"});
                            }, {"y"}, s2));
    const Shape full = {1, 64, 80, 80};
    const uint64_t s3 = ++seed;
    out.push_back(single_op("Add", dims(full) + "_plus_" + dims(full), full, 3 * float_bytes(full),
                            [full, s3](OnnxBuilder& b) {
                              b.initializer("other", random(full, s3 + 1));
                              b.node("Add", {"x", "other"}, {"y"});
                            }, {"y"}, s3));
  }

  // The remaining optimised kernels: Pow (wh^2 in the head), a standalone SiLU and Relu
  // (eltwise), Slice (the slice kernel Split shares), ConvTranspose (deconvolution).
  {
    const Shape wh = {1, 3, 80, 80, 2};
    out.push_back(single_op("Pow", dims(wh) + "_square", wh, 2 * float_bytes(wh), [](OnnxBuilder& b) {
      b.initializer("e", Tensor::scalar<float>(2.0f));
      b.node("Pow", {"x", "e"}, {"y"});
    }, {"y"}, ++seed));
    const Shape act = {1, 64, 80, 80};
    out.push_back(single_op("Silu", dims(act), act, 2 * float_bytes(act), [](OnnxBuilder& b) {
      b.node("Sigmoid", {"x"}, {"s"}).node("Mul", {"x", "s"}, {"y"});
    }, {"y"}, ++seed));
    out.push_back(single_op("Relu", dims(act), act, 2 * float_bytes(act),
                            [](OnnxBuilder& b) { b.node("Relu", {"x"}, {"y"}); }, {"y"}, ++seed));
    const Shape head = {1, 3, 80, 80, 85};
    out.push_back(single_op("Slice", dims(head) + "_axis4_4to85", head, float_bytes(head) * (1.0 + 81.0 / 85.0),
                            [](OnnxBuilder& b) {
                              b.initializer("starts", Tensor::from_vector<int64_t>({1}, {4}));
                              b.initializer("ends", Tensor::from_vector<int64_t>({1}, {85}));
                              b.initializer("axes", Tensor::from_vector<int64_t>({1}, {4}));
                              b.node("Slice", {"x", "starts", "ends", "axes"}, {"y"});
                            }, {"y"}, ++seed));
    const Shape x = {1, 64, 40, 40};
    const uint64_t s = ++seed;
    Problem p = single_op("ConvTranspose", dims(x) + "_oc64_k2s2", x, 0, [s](OnnxBuilder& b) {
      b.initializer("w", random({64, 64, 2, 2}, s + 1));
      b.initializer("b", random({64}, s + 2));
      b.node("ConvTranspose", {"x", "w", "b"}, {"y"}, {Attr::Ints("kernel_shape", {2, 2}), Attr::Ints("strides", {2, 2})});
    }, {"y"}, s);
    p.flop = 2.0 * 64 * 40 * 40 * 64 * 2 * 2;  // each input pixel meets oc x k x k weights per input channel
    out.push_back(std::move(p));
  }

  // Reference variants on the smallest shape of each family.
  std::map<std::string, size_t> smallest;
  for (size_t i = 0; i < out.size(); ++i) {
    auto it = smallest.find(out[i].family);
    if (it == smallest.end() || out[i].bytes + out[i].flop < out[it->second].bytes + out[it->second].flop) {
      smallest[out[i].family] = i;
    }
  }
  for (const auto& [family, i] : smallest) out[i].reference = true;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Running

struct Compiled {
  std::string key;
  std::optional<Engine> engine;
  std::vector<Tensor> inputs, outputs;
  std::string label;
  int layer = -1;  // index in describe().layers of the layer reported
};

// The last compiled problem: Google Benchmark calls a benchmark several times while it picks the
// iteration count, and benchmarks run one after another, so one slot avoids recompiling without
// keeping every model in memory.
Compiled& compile(const Problem& p, bool optimized) {
  static Compiled slot;
  const std::string key = p.family + "/" + p.name + (optimized ? "" : "/reference");
  if (slot.key == key) return slot;
  slot = Compiled{};
  Model m = p.build();
  CompileOptions options;
  options.num_cores = bench_cores();
  options.optimized_kernels = optimized;
  if (optimized) options.kernels = p.kernels;
  slot.engine.emplace(Engine::load_from_bytes(m.bytes, options));
  slot.inputs = std::move(m.inputs);
  slot.engine->run(slot.inputs, slot.outputs);  // warm up: page faults, oneDNN's JIT, output buffers

  const PlanDescription d = slot.engine->describe();
  int reorders = 0, skip = p.layer_skip;
  for (size_t i = 0; i < d.layers.size(); ++i) {
    if (d.layers[i].op == "Reorder") ++reorders;
    else if (slot.layer < 0 && d.layers[i].op.rfind(p.layer_op, 0) == 0 && skip-- == 0) slot.layer = static_cast<int>(i);
  }
  if (slot.layer >= 0) {
    const LayerInfo& layer = d.layers[static_cast<size_t>(slot.layer)];
    if (!p.kernels.empty() && layer.kernel == "reference") {
      throw std::runtime_error("the forced rows '" + p.kernels + "' declined (SPARROW_VERBOSE=1 says why)");
    }
    slot.label = layer.op + " " + layer.kernel + " " + layer.layout;
    if (p.flop > 0 && layer.gflop > 0 && std::abs(layer.gflop * 1e9 / p.flop - 1) > 1e-3) {
      std::cerr << "kernel_bench: note: " << key << ": " << p.flop / 1e9 << " GFLOP counted here, " << layer.gflop
                << " by the engine\n";
    }
    if (optimized && p.kernels.empty() && layer.kernel.find("-onednn") == std::string::npos) {
      std::cerr << "kernel_bench: note: " << key << " runs on '" << layer.kernel << "', not oneDNN\n";
    }
  } else {
    slot.label = "no " + p.layer_op + " layer";
    std::cerr << "kernel_bench: note: " << key << " has no " << p.layer_op << " layer after compilation\n";
  }
  if (reorders) slot.label += " +" + std::to_string(reorders) + " reorder" + (reorders > 1 ? "s" : "");
  slot.key = key;
  return slot;
}

// The families that compare a sparse row with the dense one on the same weights.
bool sparse_family(const Problem& p) { return p.family == "SparseConv" || p.family == "SparseQConv"; }

void evict_caches() {
  static const bool cold = std::getenv("SPARROW_BENCH_COLD") != nullptr;
  if (!cold) return;
  static std::vector<char> junk(256 << 20);
  for (size_t i = 0; i < junk.size(); i += 64) junk[i] += 1;
  benchmark::DoNotOptimize(junk.data());
}

void run_problem(benchmark::State& state, const Problem& p, bool optimized) {
  Compiled* c = nullptr;
  try {
    c = &compile(p, optimized);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  double seconds = 0, best = 1e30;
  for (auto _ : state) {
    evict_caches();
    const auto start = std::chrono::steady_clock::now();
    c->engine->run(c->inputs, c->outputs);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    state.SetIterationTime(s);
    seconds += s;
    best = std::min(best, s);
  }
  benchmark::DoNotOptimize(c->outputs.front().data());
  const int64_t runs = state.iterations();
  if (runs == 0 || seconds <= 0) return;
  if (p.flop > 0) state.counters["GFLOP/s"] = p.flop * static_cast<double>(runs) / seconds / 1e9;
  // Dense multiply-adds per second, also for sparse kernels that skip most of them.
  if (p.flop > 0) state.counters["effective_GMAC/s"] = p.flop / 2 * static_cast<double>(runs) / seconds / 1e9;
  // The fastest single run (reorders included): the least disturbed one on a shared machine.
  if (p.flop > 0 && sparse_family(p)) state.counters["best_effective_GMAC/s"] = p.flop / 2 / best / 1e9;
  if (p.bytes > 0) state.counters["GB/s"] = p.bytes * static_cast<double>(runs) / seconds / 1e9;
  state.SetLabel(c->label);

  // Per-layer times (untimed by the harness): a quarter as many runs again, at most 50.
  if (c->layer < 0) return;
  const PlanDescription d = c->engine->profile(static_cast<int>(std::clamp<int64_t>(runs / 4, 1, 50)));
  double total_ms = 0;
  for (const LayerInfo& layer : d.layers) total_ms += layer.time_ms;
  const double layer_ms = d.layers[static_cast<size_t>(c->layer)].time_ms;
  if (layer_ms <= 0 || total_ms <= 0) return;
  state.counters["layer_us"] = layer_ms * 1e3;
  state.counters["layer_share"] = layer_ms / total_ms;
  if (p.flop > 0) state.counters["layer_GFLOP/s"] = p.flop / (layer_ms * 1e-3) / 1e9;
  // Dense MACs over the layer's time: what a sparse kernel's speed-up is measured in.
  if (p.flop > 0) state.counters["layer_effective_GMAC/s"] = p.flop / 2 / (layer_ms * 1e-3) / 1e9;
  if (!sparse_family(p)) return;
  // The layer's best single run of as many again: on a shared machine the least disturbed one
  // compares sparse and dense kernels better than a mean does.
  double best_ms = layer_ms;
  for (int64_t i = 0; i < std::clamp<int64_t>(runs / 4, 5, 50); ++i) {
    evict_caches();
    best_ms = std::min(best_ms, c->engine->profile(1).layers[static_cast<size_t>(c->layer)].time_ms);
  }
  state.counters["layer_best_us"] = best_ms * 1e3;
  state.counters["layer_best_effective_GMAC/s"] = p.flop / 2 / (best_ms * 1e-3) / 1e9;
}

// SPARROW_BENCH_REFERENCE=all adds a reference variant to every problem (slow: the reference
// conv is a plain single-threaded loop).
bool all_references() {
  const char* v = std::getenv("SPARROW_BENCH_REFERENCE");
  return v && std::string(v) == "all";
}

void register_problem(const Problem& p) {
  for (bool optimized : {true, false}) {
    if (!optimized && !p.reference && !all_references()) continue;
    const std::string name = p.family + (optimized ? "" : "_reference") + "/" + p.name;
    // With --benchmark_repetitions, "_min" is the least disturbed repetition: on a shared machine
    // the median still carries other processes' time.
    benchmark::RegisterBenchmark(name.c_str(), [p, optimized](benchmark::State& state) { run_problem(state, p, optimized); })
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond)
        // With --benchmark_repetitions: the least disturbed run on a shared machine, the fastest
        // time (min) and the highest rates (max).
        ->ComputeStatistics("min", [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); })
        ->ComputeStatistics("max", [](const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); });
  }
}

// The ISA oneDNN dispatches to, for the report's header.
std::string dispatched_isa() {
  OnnxBuilder b;
  b.input("x", DType::kFloat32, {1, 1}).node("Relu", {"x"}, {"y"}).output("y");
  CompileOptions options;
  options.num_cores = bench_cores();
  return Engine::load_from_bytes(b.bytes(), options).describe().isa;
}

}  // namespace

namespace sparrow::bench {
void register_ukernel_benchmarks();  // ukernel_bench.cpp
}

int main(int argc, char** argv) {
  const char* env_shapes = std::getenv("SPARROW_SHAPES");
  const std::string shapes = env_shapes && *env_shapes ? env_shapes : SPARROW_KERNEL_SHAPES;
  // The sparse rows run at every sparsity here, dense weights included, to show the crossover.
  setenv("SPARROW_SPARSE_MIN_SPEEDUP", "0", 0);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  try {
    const std::vector<ConvProblem> convs = read_shapes(shapes);
    std::vector<Problem> problems;
    for (size_t i = 0; i < convs.size(); ++i) problems.push_back(conv_problem(convs[i], 1 + 10 * i));
    mark_conv_references(problems, convs);
    for (size_t i = 0; i < convs.size(); ++i) problems.push_back(qconv_problem(convs[i], 1 + 10 * i));
    // Sparse FP32 next to dense FP32 on the same pruned weights: every ungrouped float conv shape
    // at each sparsity, unstructured and in 4-blocks.
    for (size_t i = 0; i < convs.size(); ++i) {
      if (convs[i].g != 1) continue;
      for (int percent : {0, 50, 70, 80, 85, 90, 95}) {
        for (bool blocks : {false, true}) {
          for (bool sparse : {true, false}) problems.push_back(sparse_conv_problem(convs[i], 1 + 10 * i, percent, blocks, sparse));
        }
      }
    }
    // Sparse INT8 next to dense INT8 on the same pruned weights, for every ungrouped shape.
    std::map<std::string, bool> sparse_names;
    for (size_t i = 0; i < convs.size(); ++i) {
      const std::string name = convs[i].desc + (convs[i].residual ? "_residual" : "");
      if (convs[i].g != 1 || sparse_names[name]) continue;
      sparse_names[name] = true;
      // 1x1 convs also as a sparse 1x1 conv's reader, which hands them its output planar.
      const bool chains = convs[i].kh == 1 && convs[i].kw == 1 && convs[i].sh == 1 && convs[i].sw == 1 && !convs[i].residual &&
                          convs[i].ic % 4 == 0;
      for (int percent : {0, 50, 70, 80, 85, 90, 95}) {
        for (bool chained : {false, true}) {
          if (chained && !chains) continue;
          for (bool sparse : {true, false}) problems.push_back(sparse_qconv_problem(convs[i], percent, sparse, 1 + 10 * i, chained));
        }
      }
    }
    // The Detect convs (1x1 to 255 channels) with their decode, FP32 and INT8.
    for (const ConvProblem& c : convs) {
      if (c.oc != 255 || c.kh != 1 || c.g != 1) continue;
      for (bool int8 : {false, true}) problems.push_back(conv_segmented_problem(c, int8));
    }
    for (Problem& p : other_problems()) problems.push_back(std::move(p));
    for (const Problem& p : problems) register_problem(p);
    sparrow::bench::register_ukernel_benchmarks();
    benchmark::AddCustomContext("sparrow_shapes", shapes);
    benchmark::AddCustomContext("sparrow_cores", std::to_string(bench_cores()));
    benchmark::AddCustomContext("sparrow_isa", dispatched_isa());
  } catch (const std::exception& e) {
    std::cerr << "kernel_bench: error: " << e.what() << "\n";
    return 1;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
