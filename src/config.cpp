// Loading the configuration once at start-up; every setting is listed in config/evoucher.json.
#include "evoucher/config.hpp"

#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace evoucher {
namespace {

using json = nlohmann::json;

// One row a setting: its name in the file, and how to read it from a JSON value or from text.
struct Setting {
  std::function<void(Config&, const json&)> from_json;
  std::function<void(Config&, const std::string&)> from_text;
  std::function<json(const Config&)> to_json;
  // For a count, a size or a duration: whether the value is above zero; empty for any other setting.
  std::function<bool(const Config&)> is_positive;
};

template <typename T>
Setting field(T Config::*member) {
  Setting s;
  s.from_json = [member](Config& c, const json& v) { c.*member = v.get<T>(); };
  s.from_text = [member](Config& c, const std::string& text) {
    if constexpr (std::is_same_v<T, std::string>) {
      c.*member = text;
    } else {
      std::size_t used = 0;
      const long long v = std::stoll(text, &used);
      if (used != text.size() || v < 0) throw std::invalid_argument("not a non-negative integer");
      c.*member = static_cast<T>(v);
    }
  };
  s.to_json = [member](const Config& c) { return json(c.*member); };
  return s;
}

// A setting that must be positive (validate refuses anything else).
template <typename T>
Setting positive(T Config::*member) {
  Setting s = field(member);
  s.is_positive = [member](const Config& c) { return static_cast<long long>(c.*member) > 0; };
  return s;
}

const std::map<std::string, Setting>& settings() {
  static const std::map<std::string, Setting> table = {
      {"listen", field(&Config::listen)},
      {"database_url", field(&Config::database_url)},
      {"embedded_pg_dir", field(&Config::embedded_pg_dir)},
      {"pg_bindir", field(&Config::pg_bindir)},
      {"io_threads", positive(&Config::io_threads)},
      {"db_workers", positive(&Config::db_workers)},
      {"db_queue_limit", positive(&Config::db_queue_limit)},
      {"statement_timeout_ms", positive(&Config::statement_timeout_ms)},
      {"connect_timeout_s", positive(&Config::connect_timeout_s)},
      {"read_timeout_ms", positive(&Config::read_timeout_ms)},
      {"shutdown_grace_ms", field(&Config::shutdown_grace_ms)},
      {"body_limit_bytes", positive(&Config::body_limit_bytes)},
      {"header_limit_bytes", positive(&Config::header_limit_bytes)},
      {"max_connections", positive(&Config::max_connections)},
      {"signature_window_s", positive(&Config::signature_window_s)},
      {"batch_chunk_size", positive(&Config::batch_chunk_size)},
      {"group_writers", field(&Config::group_writers)},
      {"group_max", field(&Config::group_max)},
      {"group_queue_limit", field(&Config::group_queue_limit)},
      {"commit_wait_ms", positive(&Config::commit_wait_ms)},
      {"cli_statement_timeout_ms", field(&Config::cli_statement_timeout_ms)},
      {"export_workers", positive(&Config::export_workers)},
      {"export_queue_limit", positive(&Config::export_queue_limit)},
      {"read_database_url", field(&Config::read_database_url)},
      {"read_workers", positive(&Config::read_workers)},
      {"read_queue_limit", positive(&Config::read_queue_limit)},
      {"read_max_stale_ms", positive(&Config::read_max_stale_ms)},
      {"metrics_refresh_s", positive(&Config::metrics_refresh_s)},
      {"console_dir", field(&Config::console_dir)},
      {"chartjs_path", field(&Config::chartjs_path)},
      {"log_level", field(&Config::log_level)},
  };
  return table;
}

std::string env_name(const std::string& key) {
  std::string out = "EVOUCHER_";
  for (char c : key) out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

void validate(const Config& c) {
  for (const auto& [key, setting] : settings())
    if (setting.is_positive && !setting.is_positive(c)) throw ConfigError("setting " + key + " must be positive");
  if (c.batch_chunk_size > 10000) throw ConfigError("setting batch_chunk_size must be at most 10000");
  if (c.listen.rfind(':') == std::string::npos) throw ConfigError("setting listen must be HOST:PORT");
}

}  // namespace

Config load_config(const std::string& path, bool path_is_explicit) {
  Config config;
  std::ifstream in(path);
  if (!in && path_is_explicit) throw ConfigError("cannot read config file " + path);
  if (in) {
    json doc;
    try {
      doc = json::parse(in, nullptr, true, /*ignore_comments=*/true);
    } catch (const json::exception& e) {
      throw ConfigError("config file " + path + " is not valid JSON: " + e.what());
    }
    if (!doc.is_object()) throw ConfigError("config file " + path + " must hold a JSON object");
    for (const auto& [key, value] : doc.items()) {
      auto it = settings().find(key);
      if (it == settings().end()) throw ConfigError("config file " + path + ": unknown setting " + key);
      try {
        it->second.from_json(config, value);
      } catch (const json::exception&) {
        throw ConfigError("config file " + path + ": setting " + key + " has the wrong type");
      }
    }
  }
  for (const auto& [key, setting] : settings()) {
    if (const char* v = std::getenv(env_name(key).c_str())) {
      try {
        setting.from_text(config, v);
      } catch (const std::exception&) {
        throw ConfigError("environment " + env_name(key) + " is not a valid value for " + key);
      }
    }
  }
  if (const char* v = std::getenv("EVOUCHER_PROCESSOR_SECRET")) config.processor_secret = v;
  if (const char* v = std::getenv("EVOUCHER_ADMIN_TOKEN")) config.admin_token = v;
  validate(config);
  return config;
}

std::string config_to_json(const Config& config) {
  json out = json::object();
  for (const auto& [key, setting] : settings()) out[key] = setting.to_json(config);
  return out.dump(2);
}

}  // namespace evoucher
