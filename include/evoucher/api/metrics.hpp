// Request counters and latencies, rendered in Prometheus text format for /metrics.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

namespace evoucher::api {

class Metrics {
 public:
  // route is the matched pattern ("/v1/members/{id}"), or "unmatched".
  void observe(const std::string& method, const std::string& route, int status, std::chrono::microseconds took);
  void connection_opened() { ++open_connections_; }
  void connection_closed() { --open_connections_; }
  // Gauges read at render time, e.g. the database queue depth.
  void add_gauge(std::string name, std::string help, std::function<double()> read);
  // A section of exposition text of its own (a histogram kept elsewhere), rendered last.
  void add_section(std::function<std::string()> render);
  std::string render() const;

 private:
  static constexpr std::array<double, 10> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5};
  struct Series {
    std::uint64_t count = 0;
    double sum_seconds = 0;
    std::array<std::uint64_t, kBuckets.size()> buckets{};
  };
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, int>, Series> series_;
  std::atomic<long> open_connections_{0};
  struct Gauge {
    std::string help;
    std::function<double()> read;
  };
  std::map<std::string, Gauge> gauges_;
  std::vector<std::function<std::string()>> sections_;
};

}  // namespace evoucher::api
