#include "server_config.h"

#include <yaml-cpp/yaml.h>

#include <functional>
#include <map>
#include <set>

#include "sparrow/error.h"

namespace sparrow::server {
namespace {

[[noreturn]] void bad(const std::string& why) { throw Error(ErrorCode::kInvalidArgument, why); }

template <typename T>
void check_range(const std::string& name, T value, T lo, T hi) {
  if (value < lo || value > hi) {
    bad(name + " = " + std::to_string(value) + " is out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
}

// Applies each key of a YAML map through its setter; unknown keys are errors.
void apply(const YAML::Node& node, const std::string& where,
           const std::map<std::string, std::function<void(const YAML::Node&)>>& setters) {
  if (!node.IsMap()) bad(where + " must be a mapping");
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    auto it = setters.find(key);
    if (it == setters.end()) bad(where + ": unknown key '" + key + "'");
    try {
      it->second(kv.second);
    } catch (const YAML::Exception& e) {
      bad(where + "." + key + ": " + e.what());
    }
  }
}

ModelConfig model_from(const YAML::Node& node, size_t index) {
  ModelConfig m;
  apply(node, "models[" + std::to_string(index) + "]",
        {{"name", [&](const YAML::Node& v) { m.name = v.as<std::string>(); }},
         {"path", [&](const YAML::Node& v) { m.path = v.as<std::string>(); }},
         {"max_batch_size", [&](const YAML::Node& v) { m.max_batch_size = v.as<int>(); }},
         {"image_size", [&](const YAML::Node& v) { m.image_size = v.as<int>(); }},
         {"num_cores", [&](const YAML::Node& v) { m.num_cores = v.as<int>(); }},
         {"conf_threshold", [&](const YAML::Node& v) { m.conf_threshold = v.as<float>(); }},
         {"iou_threshold", [&](const YAML::Node& v) { m.iou_threshold = v.as<float>(); }},
         {"max_det", [&](const YAML::Node& v) { m.max_det = v.as<int>(); }},
         {"max_queue_delay_us", [&](const YAML::Node& v) { m.max_queue_delay_us = v.as<int64_t>(); }},
         {"queue_capacity", [&](const YAML::Node& v) { m.queue_capacity = v.as<int>(); }}});
  return m;
}

}  // namespace

void ServerConfig::validate() const {
  check_range("port", port, 0, 65535);
  check_range("metrics_port", metrics_port, -1, 65535);
  check_range<int64_t>("max_receive_message_bytes", max_receive_message_bytes, 1024, int64_t{1} << 31);
  if (!(shutdown_timeout_seconds >= 0 && shutdown_timeout_seconds <= 3600)) bad("shutdown_timeout_seconds must be in [0, 3600]");
  if (!(max_connection_idle_seconds >= 0.1 && max_connection_idle_seconds <= 86400)) {
    bad("max_connection_idle_seconds must be in [0.1, 86400]");
  }
  check_range<int64_t>("max_pixels", max_pixels, 1, int64_t{1} << 32);
  if (!(max_benchmark_seconds >= 0 && max_benchmark_seconds <= 3600)) bad("max_benchmark_seconds must be in [0, 3600]");
  if (tls_cert.empty() != tls_key.empty()) bad("TLS needs both a certificate and a key");
  if (!tls_client_ca.empty() && tls_cert.empty()) bad("mutual TLS (a client CA) needs a server certificate and key");
  if (models.empty()) bad("no models configured");
  std::set<std::string> names;
  for (const ModelConfig& m : models) {
    if (m.name.empty()) bad("a model has an empty name");
    if (!names.insert(m.name).second) bad("model name '" + m.name + "' is used twice");
    const std::string at = "model '" + m.name + "' ";
    check_range(at + "max_batch_size", m.max_batch_size, 1, 256);
    check_range(at + "image_size", m.image_size, 0, 8192);
    check_range(at + "num_cores", m.num_cores, 0, 4096);
    check_range(at + "conf_threshold", m.conf_threshold, 0.0f, 1.0f);
    check_range(at + "iou_threshold", m.iou_threshold, 0.0f, 1.0f);
    check_range(at + "max_det", m.max_det, 1, 100000);
    check_range<int64_t>(at + "max_queue_delay_us", m.max_queue_delay_us, 0, 10'000'000);
    check_range(at + "queue_capacity", m.queue_capacity, 1, 1'000'000);
  }
}

bool ServerConfig::unix_socket() const { return host.rfind("unix:", 0) == 0 || host.rfind("unix-abstract:", 0) == 0; }

std::string ServerConfig::socket_path() const {
  if (host.rfind("unix://", 0) == 0) return host.substr(7);
  return host.rfind("unix:", 0) == 0 ? host.substr(5) : "";
}

std::string ServerConfig::grpc_address(int bound_port) const {
  return unix_socket() ? host : host + ":" + std::to_string(bound_port);
}

std::string ServerConfig::metrics_host() const { return unix_socket() ? "127.0.0.1" : host; }

ServerConfig load_server_config(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw Error(ErrorCode::kNotFound, "config file '" + path + "' cannot be read");
  } catch (const YAML::Exception& e) {
    bad("config file '" + path + "' is not valid YAML: " + e.what());
  }
  ServerConfig c;
  try {
    apply(root, path,
          {{"server",
            [&](const YAML::Node& s) {
              apply(s, "server",
                    {{"host", [&](const YAML::Node& v) { c.host = v.as<std::string>(); }},
                     {"port", [&](const YAML::Node& v) { c.port = v.as<int>(); }},
                     {"metrics_port", [&](const YAML::Node& v) { c.metrics_port = v.as<int>(); }},
                     {"max_receive_message_bytes", [&](const YAML::Node& v) { c.max_receive_message_bytes = v.as<int64_t>(); }},
                     {"shutdown_timeout_seconds", [&](const YAML::Node& v) { c.shutdown_timeout_seconds = v.as<double>(); }},
                     {"max_connection_idle_seconds", [&](const YAML::Node& v) { c.max_connection_idle_seconds = v.as<double>(); }},
                     {"max_pixels", [&](const YAML::Node& v) { c.max_pixels = v.as<int64_t>(); }},
                     {"tls_cert", [&](const YAML::Node& v) { c.tls_cert = v.as<std::string>(); }},
                     {"tls_key", [&](const YAML::Node& v) { c.tls_key = v.as<std::string>(); }},
                     {"tls_client_ca", [&](const YAML::Node& v) { c.tls_client_ca = v.as<std::string>(); }},
                     {"allow_shared_memory", [&](const YAML::Node& v) { c.allow_shared_memory = v.as<bool>(); }},
                     {"max_benchmark_seconds", [&](const YAML::Node& v) { c.max_benchmark_seconds = v.as<double>(); }}});
            }},
           {"models", [&](const YAML::Node& list) {
              if (!list.IsSequence()) bad("models must be a list");
              for (size_t i = 0; i < list.size(); ++i) c.models.push_back(model_from(list[i], i));
            }}});
  } catch (const Error& e) {
    throw Error(e.code(), "config file '" + path + "': " + e.what());
  }
  return c;
}

}  // namespace sparrow::server
