#include "metrics.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <set>

namespace sparrow::server {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kRateWindow = std::chrono::seconds(10);

const std::vector<double> kLatencyBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
const std::vector<double> kBatchBuckets = {1, 2, 4, 8, 16, 32, 64, 128};

double resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  double pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<double>(sysconf(_SC_PAGESIZE));
}

}  // namespace

Metrics::Metrics() {
  registry_.describe_counter("sparrow_request_total", "RPCs finished, by model, method and gRPC status");
  registry_.describe_histogram("sparrow_request_duration_seconds", "RPC time from arrival to response",
                               kLatencyBuckets);
  registry_.describe_histogram("sparrow_queue_duration_seconds", "Time an item waited in the batcher queue",
                               kLatencyBuckets);
  registry_.describe_histogram("sparrow_inference_duration_seconds", "Engine time per batch", kLatencyBuckets);
  registry_.describe_histogram("sparrow_item_duration_seconds", "Time from an item's arrival to its result",
                               kLatencyBuckets);
  registry_.describe_histogram("sparrow_batch_size", "Items per engine batch", kBatchBuckets);
  registry_.describe_counter("sparrow_inference_items_total", "Items (images or tensors) inferred");
  registry_.describe_counter("sparrow_inference_batches_total", "Engine batches run");
  registry_.describe_counter("sparrow_inference_single_thread_batches_total",
                             "Engine batches run on one thread because that measured faster: the cores were contended");
  registry_.describe_gauge("sparrow_items_per_second", "Items inferred per second over the last 10 seconds");
  registry_.describe_gauge("sparrow_queue_depth", "Items waiting in the batcher queue");
  registry_.describe_gauge("process_resident_memory_bytes", "Resident memory of the server process");
}

Metrics::~Metrics() { stop_serving(); }

void Metrics::request(const std::string& model, const std::string& method, const std::string& status, double seconds) {
  registry_.add("sparrow_request_total", {{"model", model}, {"method", method}, {"status", status}});
  registry_.observe("sparrow_request_duration_seconds", {{"model", model}, {"method", method}}, seconds);
}

void Metrics::item(const std::string& model, double queue_seconds, double end_to_end_seconds) {
  registry_.observe("sparrow_queue_duration_seconds", {{"model", model}}, queue_seconds);
  registry_.observe("sparrow_item_duration_seconds", {{"model", model}}, end_to_end_seconds);
}

void Metrics::batch(const std::string& model, int items, double inference_seconds, bool single_thread) {
  registry_.observe("sparrow_batch_size", {{"model", model}}, items);
  registry_.observe("sparrow_inference_duration_seconds", {{"model", model}}, inference_seconds);
  registry_.add("sparrow_inference_items_total", {{"model", model}}, items);
  registry_.add("sparrow_inference_batches_total", {{"model", model}});
  registry_.add("sparrow_inference_single_thread_batches_total", {{"model", model}}, single_thread ? 1 : 0);
  std::lock_guard<std::mutex> lock(window_mutex_);
  window_.emplace_back(Clock::now(), model, items);
}

void Metrics::queue_depth(const std::string& model, size_t depth) {
  registry_.set("sparrow_queue_depth", {{"model", model}}, static_cast<double>(depth));
}

double Metrics::items_per_second(const std::string& model) const {
  double items = 0;
  for (const auto& [when, name, n] : window_) {
    if (name == model) items += n;
  }
  return items / std::chrono::duration<double>(kRateWindow).count();
}

std::string Metrics::render() const {
  {
    std::lock_guard<std::mutex> lock(window_mutex_);
    while (!window_.empty() && Clock::now() - std::get<0>(window_.front()) > kRateWindow) window_.pop_front();
    std::set<std::string> models;
    for (const auto& entry : window_) models.insert(std::get<1>(entry));
    for (const std::string& m : models) registry_.set("sparrow_items_per_second", {{"model", m}}, items_per_second(m));
  }
  registry_.set("process_resident_memory_bytes", {}, resident_bytes());
  return registry_.render();
}

void Metrics::serve(const std::string& host, int port) {
  if (port == 0) return;
  endpoint_ = std::make_unique<MetricsEndpoint>(host, std::max(port, 0), [this] { return render(); });
}

void Metrics::stop_serving() { endpoint_.reset(); }

}  // namespace sparrow::server
