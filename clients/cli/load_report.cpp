#include "load_report.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "latency_stats.h"
#include "rpc_error.h"
#include "sparrow/output_file.h"

namespace sparrow::client {
namespace {

std::string level_value(const LoadLevel& level) {
  if (level.concurrency > 0) return std::to_string(level.concurrency);
  char text[32];
  std::snprintf(text, sizeof text, "%g", level.request_rate);
  return text;
}

std::string errors_field(const LevelResult& r) {
  std::string s;
  for (const auto& [code, count] : r.errors) {
    if (!s.empty()) s += ";";
    s += status_code_name(code);
    s += "=";
    s += std::to_string(count);
  }
  return s;
}

// The server's per-image means; null when it reported none.
nlohmann::json server_json(const ServerTimings& t) {
  if (t.images == 0) return nullptr;
  const double n = static_cast<double>(t.images);
  return {{"preprocess", t.preprocess_ms / n},
          {"queue", t.queue_ms / n},
          {"inference", t.inference_ms / n},
          {"postprocess", t.postprocess_ms / n}};
}

nlohmann::json level_json(const LevelResult& r) {
  const LatencySummary l = summarize(r.latencies_ms);
  nlohmann::json j;
  j["concurrency"] = r.level.concurrency;
  j["request_rate"] = r.level.request_rate;
  j["warmup_requests"] = r.warmup_requests;
  j["seconds"] = r.seconds;
  j["sent"] = r.sent;
  j["ok"] = r.ok;
  j["failed"] = r.failed;
  j["requests_per_second"] = r.requests_per_second();
  j["items_per_second"] = r.items_per_second();
  j["latency_ms"] = {{"mean", l.mean}, {"p50", l.p50}, {"p90", l.p90}, {"p95", l.p95}, {"p99", l.p99}, {"max", l.max}};
  j["server_ms_per_image"] = server_json(r.server);
  j["errors"] = nlohmann::json::object();
  for (const auto& [code, count] : r.errors) {
    j["errors"][status_code_name(code)] = {{"count", count}, {"example", r.error_examples.at(code)}};
  }
  return j;
}

// Four per-image means, empty when the server reported none.
std::string server_fields(const ServerTimings& t) {
  if (t.images == 0) return ",,,";
  const double n = static_cast<double>(t.images);
  std::ostringstream s;
  s << t.preprocess_ms / n << ',' << t.queue_ms / n << ',' << t.inference_ms / n << ',' << t.postprocess_ms / n;
  return s.str();
}

}  // namespace

void print_table_header(bool open_loop) {
  std::printf("%-12s %10s %10s %9s %9s %9s %9s %8s %8s %7s\n", open_loop ? "Rate (/s)" : "Concurrency", "Req/s",
              "Images/s", "p50 ms", "p90 ms", "p95 ms", "p99 ms", "Sent", "OK", "Failed");
  std::fflush(stdout);
}

void print_level(const LevelResult& r) {
  const LatencySummary l = summarize(r.latencies_ms);
  std::printf("%-12s %10.2f %10.2f %9.1f %9.1f %9.1f %9.1f %8llu %8llu %7llu\n", level_value(r.level).c_str(),
              r.requests_per_second(), r.items_per_second(), l.p50, l.p90, l.p95, l.p99,
              static_cast<unsigned long long>(r.sent), static_cast<unsigned long long>(r.ok),
              static_cast<unsigned long long>(r.failed));
  if (r.server.images > 0) {
    const double n = static_cast<double>(r.server.images);
    std::printf("    server, per image: pre-process %.1f ms, queue %.1f ms, inference %.1f ms, post-process %.1f ms\n",
                r.server.preprocess_ms / n, r.server.queue_ms / n, r.server.inference_ms / n, r.server.postprocess_ms / n);
  }
  for (const auto& [code, count] : r.errors) {
    std::printf("    %llu x %s: %s\n", static_cast<unsigned long long>(count), status_code_name(code).c_str(),
                r.error_examples.at(code).c_str());
  }
  std::fflush(stdout);
}

void write_csv(const std::string& path, const LoadRun& run) {
  std::ostringstream out;
  out << "concurrency,request_rate,seconds,sent,ok,failed,requests_per_second,items_per_second,latency_mean_ms,p50_ms,"
         "p90_ms,p95_ms,p99_ms,latency_max_ms,server_preprocess_ms,server_queue_ms,server_inference_ms,"
         "server_postprocess_ms,errors\n";
  for (const LevelResult& r : run.levels) {
    const LatencySummary l = summarize(r.latencies_ms);
    out << r.level.concurrency << ',' << r.level.request_rate << ',' << r.seconds << ',' << r.sent << ',' << r.ok << ','
        << r.failed << ',' << r.requests_per_second() << ',' << r.items_per_second() << ',' << l.mean << ',' << l.p50
        << ',' << l.p90 << ',' << l.p95 << ',' << l.p99 << ',' << l.max << ',' << server_fields(r.server) << ','
        << errors_field(r) << '\n';
  }
  write_text_file(path, out.str());
}

void write_json(const std::string& path, const LoadRun& run) {
  nlohmann::json j;
  j["server"] = run.server;
  j["model"] = run.model;
  j["mode"] = run.mode;
  j["shared_memory"] = run.shared_memory;
  j["images_per_request"] = run.images_per_request;
  j["images"] = run.images;
  j["levels"] = nlohmann::json::array();
  for (const LevelResult& r : run.levels) j["levels"].push_back(level_json(r));
  write_text_file(path, j.dump(2) + '\n');
}

}  // namespace sparrow::client
