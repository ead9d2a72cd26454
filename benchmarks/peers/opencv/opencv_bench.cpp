// OpenCV DNN peer runner for Sparrow's benchmark harness.
//
//   opencv_bench MODEL --batch-size B --num-cores C --time SECONDS --warmup SECONDS
//                --export-json FILE [--image-size 640] [--seed N]
//
// Loads MODEL with cv::dnn::readNetFromONNX on the plain OpenCV CPU backend, runs a seeded random
// input in [0, 1) of shape [B, 3, H, W] for --warmup seconds, then for --time seconds recording every
// batch's wall time, and writes the statistics as JSON with the same field names as
// `sparrow benchmark` and the ONNX Runtime runner.

#include <opencv2/core.hpp>
#include <opencv2/core/utility.hpp>
#include <opencv2/dnn.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <limits>
#include <random>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

const std::string kEngine = std::string("opencv-dnn ") + CV_VERSION;

struct Options {
  std::string model;
  int batch_size = 1;
  int num_cores = 1;
  double time_s = 20.0;
  double warmup_s = 3.0;
  std::string export_json;
  int image_size = 640;
  unsigned seed = 1234;
};

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

const char* usage() {
  return "usage: opencv_bench MODEL --batch-size B --num-cores C --time SECONDS --warmup SECONDS "
         "--export-json FILE [--image-size 640] [--seed N]";
}

long parse_int(const std::string& flag, const std::string& text, long min_value) {
  char* end = nullptr;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || v < min_value || v > std::numeric_limits<int>::max()) {
    throw UsageError(flag + ": expected an integer >= " + std::to_string(min_value) + ", got '" +
                     text + "'");
  }
  return v;
}

double parse_seconds(const std::string& flag, const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(v) || v < 0) {
    throw UsageError(flag + ": expected a non-negative number of seconds, got '" + text + "'");
  }
  return v;
}

Options parse_args(int argc, char** argv) {
  Options o;
  bool have_model = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool inline_value = false;
    if (arg.rfind("--", 0) == 0) {
      const auto eq = arg.find('=');
      if (eq != std::string::npos) {
        value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
        inline_value = true;
      }
    }
    auto next = [&]() -> std::string {
      if (inline_value) return value;
      if (i + 1 >= argc) throw UsageError(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "-h" || arg == "--help") {
      std::cout << usage() << "\n";
      std::exit(0);
    } else if (arg == "--batch-size") {
      o.batch_size = static_cast<int>(parse_int(arg, next(), 1));
    } else if (arg == "--num-cores") {
      o.num_cores = static_cast<int>(parse_int(arg, next(), 1));
    } else if (arg == "--image-size") {
      o.image_size = static_cast<int>(parse_int(arg, next(), 1));
    } else if (arg == "--seed") {
      o.seed = static_cast<unsigned>(parse_int(arg, next(), 0));
    } else if (arg == "--time") {
      o.time_s = parse_seconds(arg, next());
    } else if (arg == "--warmup") {
      o.warmup_s = parse_seconds(arg, next());
    } else if (arg == "--export-json") {
      o.export_json = next();
    } else if (!arg.empty() && arg[0] == '-') {
      throw UsageError("unknown option " + arg);
    } else if (!have_model) {
      o.model = arg;
      have_model = true;
    } else {
      throw UsageError("unexpected argument '" + arg + "'");
    }
  }
  if (!have_model) throw UsageError("MODEL is required");
  if (o.time_s <= 0) throw UsageError("--time must be positive");
  return o;
}

// Percentile with linear interpolation between closest ranks (numpy's default); `sorted` is ascending.
double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.size() == 1) return sorted[0];
  const double pos = q / 100.0 * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - static_cast<double>(lo));
}

std::string json_string(const std::string& s) {
  std::ostringstream out;
  out << '"';
  for (const unsigned char c : s) {
    switch (c) {
      case '"': out << "\\\""; break;
      case '\\': out << "\\\\"; break;
      case '\n': out << "\\n"; break;
      case '\t': out << "\\t"; break;
      default:
        if (c < 0x20) {
          out << "\\u" << std::hex << std::setw(4) << std::setfill('0') << static_cast<int>(c)
              << std::dec << std::setfill(' ');
        } else {
          out << c;
        }
    }
  }
  out << '"';
  return out.str();
}

// cv::Exception::err on one line: the importer nests messages over several '> '-prefixed lines.
std::string one_line(const cv::Exception& e) {
  std::string out;
  bool space = false;
  for (std::size_t i = 0; i < e.err.size(); ++i) {
    const char c = e.err[i];
    const bool line_start = i == 0 || e.err[i - 1] == '\n';
    if (line_start && c == '>') continue;
    if (c == '\n' || c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  // Nested messages repeat "OpenCV(4.6.0) ./modules/dnn/src/...cpp:123: error: "; keep what follows.
  out = std::regex_replace(out, std::regex(R"(OpenCV\([^)]*\) \S+: error: )"), "");
  if (!e.func.empty()) out += " (in " + e.func + ")";
  return out;
}

std::string base_name(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

struct Stats {
  std::size_t iterations = 0;
  double seconds_ran = 0, items_per_second = 0, ms_per_batch = 0;
  double mean = 0, median = 0, stddev = 0, p50 = 0, p90 = 0, p95 = 0, p99 = 0, p99_9 = 0;
};

Stats summarise(const std::vector<double>& batch_ms, double seconds_ran, int batch_size) {
  Stats s;
  s.iterations = batch_ms.size();
  const auto n = static_cast<double>(batch_ms.size());
  s.seconds_ran = seconds_ran;
  s.items_per_second = n * batch_size / seconds_ran;
  s.ms_per_batch = seconds_ran * 1000.0 / n;
  double sum = 0;
  for (double v : batch_ms) sum += v;
  s.mean = sum / n;
  double sq = 0;
  for (double v : batch_ms) sq += (v - s.mean) * (v - s.mean);
  s.stddev = std::sqrt(sq / n);
  std::vector<double> sorted = batch_ms;
  std::sort(sorted.begin(), sorted.end());
  s.median = s.p50 = percentile(sorted, 50);
  s.p90 = percentile(sorted, 90);
  s.p95 = percentile(sorted, 95);
  s.p99 = percentile(sorted, 99);
  s.p99_9 = percentile(sorted, 99.9);
  return s;
}

void write_json(const std::string& path, const Options& o, const Stats& s) {
  std::ofstream out(path);
  if (!out) throw std::runtime_error("cannot write " + path);
  out << std::setprecision(15);
  out << "{\n"
      << "  \"engine\": " << json_string(kEngine) << ",\n"
      << "  \"model\": " << json_string(o.model) << ",\n"
      << "  \"batch_size\": " << o.batch_size << ",\n"
      << "  \"num_cores\": " << o.num_cores << ",\n"
      << "  \"iterations\": " << s.iterations << ",\n"
      << "  \"seconds_ran\": " << s.seconds_ran << ",\n"
      << "  \"items_per_second\": " << s.items_per_second << ",\n"
      << "  \"ms_per_batch\": " << s.ms_per_batch << ",\n"
      << "  \"batch_times_mean\": " << s.mean << ",\n"
      << "  \"batch_times_median\": " << s.median << ",\n"
      << "  \"batch_times_std\": " << s.stddev << ",\n"
      << "  \"p50\": " << s.p50 << ",\n"
      << "  \"p90\": " << s.p90 << ",\n"
      << "  \"p95\": " << s.p95 << ",\n"
      << "  \"p99\": " << s.p99 << ",\n"
      << "  \"p99_9\": " << s.p99_9 << "\n"
      << "}\n";
  if (!out.flush()) throw std::runtime_error("failed writing " + path);
}

// OpenCV's ONNX importer can bake batch 1 into Reshape targets and still run a larger batch,
// returning outputs of the wrong size; check the outputs so such a run fails instead of timing garbage.
void check_outputs(const std::vector<cv::Mat>& outs, const std::vector<std::string>& names,
                   int batch_size) {
  for (std::size_t i = 0; i < outs.size(); ++i) {
    const cv::Mat& m = outs[i];
    if (m.dims >= 1 && m.size[0] != batch_size) {
      throw std::runtime_error("output '" + names[i] + "' has batch " + std::to_string(m.size[0]) +
                               " for an input batch of " + std::to_string(batch_size) +
                               "; OpenCV DNN does not run this model at this batch size");
    }
    if (m.depth() == CV_32F && !cv::checkRange(m)) {
      throw std::runtime_error("output '" + names[i] + "' holds a non-finite value");
    }
  }
}

int run(const Options& o) {
  cv::setNumThreads(o.num_cores);

  cv::dnn::Net net;
  try {
    net = cv::dnn::readNetFromONNX(o.model);
  } catch (const cv::Exception& e) {
    throw std::runtime_error("OpenCV DNN cannot import " + base_name(o.model) + ": " + one_line(e));
  }
  if (net.empty()) throw std::runtime_error("cannot load " + o.model + ": empty network");
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);

  const int shape[] = {o.batch_size, 3, o.image_size, o.image_size};
  cv::Mat blob(4, shape, CV_32F);
  std::mt19937 rng(o.seed);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  for (auto it = blob.begin<float>(); it != blob.end<float>(); ++it) *it = uniform(rng);
  net.setInput(blob);

  const std::vector<std::string> out_names = net.getUnconnectedOutLayersNames();
  std::vector<cv::Mat> outs;
  auto forward = [&]() {
    try {
      net.forward(outs, out_names);
    } catch (const cv::Exception& e) {
      throw std::runtime_error("OpenCV DNN cannot run this model on input [" +
                               std::to_string(o.batch_size) + ", 3, " +
                               std::to_string(o.image_size) + ", " + std::to_string(o.image_size) +
                               "]" +
                               (o.batch_size > 1 ? " (does the graph fix batch 1?)" : "") + ": " +
                               one_line(e));
    }
  };

  using Clock = std::chrono::steady_clock;
  auto to_ns = [](double seconds) {
    return std::chrono::nanoseconds(static_cast<long long>(seconds * 1e9));
  };

  // Warmup: at least one run, whose outputs are checked for batch size and finiteness.
  forward();
  check_outputs(outs, out_names, o.batch_size);
  const auto warmup_end = Clock::now() + to_ns(o.warmup_s);
  while (Clock::now() < warmup_end) forward();

  std::vector<double> batch_ms;
  const auto start = Clock::now();
  const auto end = start + to_ns(o.time_s);
  auto now = start;
  do {
    const auto t0 = Clock::now();
    forward();
    now = Clock::now();
    batch_ms.push_back(std::chrono::duration<double, std::milli>(now - t0).count());
  } while (now < end);
  const double seconds_ran = std::chrono::duration<double>(now - start).count();

  const Stats s = summarise(batch_ms, seconds_ran, o.batch_size);
  std::cout << std::fixed << std::setprecision(2);
  std::cout << kEngine << ": " << o.model << ", input [" << o.batch_size << ", 3, " << o.image_size
            << ", " << o.image_size << "], " << cv::getNumThreads() << " thread(s)\n"
            << "  " << s.iterations << " batches in " << s.seconds_ran << " s: " << s.items_per_second
            << " items/s, " << s.ms_per_batch << " ms/batch\n"
            << "  batch ms: mean " << s.mean << ", median " << s.median << ", std " << s.stddev
            << ", p90 " << s.p90 << ", p95 " << s.p95 << ", p99 " << s.p99 << ", p99.9 " << s.p99_9
            << "\n";
  if (!o.export_json.empty()) {
    write_json(o.export_json, o, s);
    std::cout << "  wrote " << o.export_json << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options opts;
  try {
    opts = parse_args(argc, argv);
  } catch (const UsageError& e) {
    std::cerr << "opencv_bench: " << e.what() << "\n" << usage() << "\n";
    return 2;
  }
  try {
    return run(opts);
  } catch (const std::exception& e) {
    std::cerr << "opencv_bench: error: " << e.what() << "\n";
    return 1;
  }
}
