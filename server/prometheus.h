// A small Prometheus registry: counters, gauges and histograms with labels, rendered in the text
// exposition format. (Debian has no Prometheus client library for C++.)
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace sparrow::server {

using Labels = std::vector<std::pair<std::string, std::string>>;

class PrometheusRegistry {
 public:
  void describe_counter(const std::string& name, const std::string& help);
  void describe_gauge(const std::string& name, const std::string& help);
  // Bucket upper bounds in increasing order; +Inf is implied.
  void describe_histogram(const std::string& name, const std::string& help, std::vector<double> buckets);

  void add(const std::string& name, const Labels& labels, double value = 1);
  void set(const std::string& name, const Labels& labels, double value);
  void observe(const std::string& name, const Labels& labels, double value);

  // The text format (version 0.0.4), families in name order.
  std::string render() const;

 private:
  struct HistogramData {
    std::vector<double> counts;  // per bucket, not cumulative
    double sum = 0;
    double count = 0;
  };
  struct Family {
    std::string type, help;
    std::vector<double> buckets;
    std::map<std::string, double> values;            // by rendered label set
    std::map<std::string, HistogramData> histograms;  // by rendered label set
  };
  Family& family(const std::string& name);

  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;
};

}  // namespace sparrow::server
