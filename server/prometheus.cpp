#include "prometheus.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace sparrow::server {
namespace {

std::string escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string render_labels(const Labels& labels) {
  std::string s;
  for (const auto& [k, v] : labels) s += (s.empty() ? "" : ",") + k + "=\"" + escape(v) + "\"";
  return s;
}

std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.17g", v);
  return buffer;
}

// name{labels} or name{labels,extra}
std::string series(const std::string& name, const std::string& labels, const std::string& extra = "") {
  std::string all = labels;
  if (!extra.empty()) all += (all.empty() ? "" : ",") + extra;
  return all.empty() ? name : name + "{" + all + "}";
}

}  // namespace

void PrometheusRegistry::describe_counter(const std::string& name, const std::string& help) {
  std::lock_guard<std::mutex> lock(mutex_);
  families_[name] = Family{"counter", help, {}, {}, {}};
}

void PrometheusRegistry::describe_gauge(const std::string& name, const std::string& help) {
  std::lock_guard<std::mutex> lock(mutex_);
  families_[name] = Family{"gauge", help, {}, {}, {}};
}

void PrometheusRegistry::describe_histogram(const std::string& name, const std::string& help, std::vector<double> buckets) {
  std::lock_guard<std::mutex> lock(mutex_);
  families_[name] = Family{"histogram", help, std::move(buckets), {}, {}};
}

PrometheusRegistry::Family& PrometheusRegistry::family(const std::string& name) {
  auto it = families_.find(name);
  if (it == families_.end()) throw std::logic_error("metric " + name + " was not described");
  return it->second;
}

void PrometheusRegistry::add(const std::string& name, const Labels& labels, double value) {
  std::lock_guard<std::mutex> lock(mutex_);
  family(name).values[render_labels(labels)] += value;
}

void PrometheusRegistry::set(const std::string& name, const Labels& labels, double value) {
  std::lock_guard<std::mutex> lock(mutex_);
  family(name).values[render_labels(labels)] = value;
}

void PrometheusRegistry::observe(const std::string& name, const Labels& labels, double value) {
  std::lock_guard<std::mutex> lock(mutex_);
  Family& f = family(name);
  HistogramData& h = f.histograms[render_labels(labels)];
  if (h.counts.empty()) h.counts.assign(f.buckets.size() + 1, 0);
  const size_t bucket = std::lower_bound(f.buckets.begin(), f.buckets.end(), value) - f.buckets.begin();
  h.counts[bucket] += 1;
  h.sum += value;
  h.count += 1;
}

std::string PrometheusRegistry::render() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + " " + f.help + "\n# TYPE " + name + " " + f.type + "\n";
    for (const auto& [labels, value] : f.values) out += series(name, labels) + " " + number(value) + "\n";
    for (const auto& [labels, h] : f.histograms) {
      double cumulative = 0;
      for (size_t b = 0; b <= f.buckets.size(); ++b) {
        cumulative += h.counts[b];
        const std::string le = "le=\"" + (b < f.buckets.size() ? number(f.buckets[b]) : std::string("+Inf")) + "\"";
        out += series(name + "_bucket", labels, le) + " " + number(cumulative) + "\n";
      }
      out += series(name + "_sum", labels) + " " + number(h.sum) + "\n";
      out += series(name + "_count", labels) + " " + number(h.count) + "\n";
    }
  }
  return out;
}

}  // namespace sparrow::server
