// Prometheus exposition of the request histogram and gauges.
#include "evoucher/api/metrics.hpp"

#include <set>

#include <sstream>

namespace evoucher::api {

void Metrics::observe(const std::string& method, const std::string& route, int status,
                      std::chrono::microseconds took) {
  const double seconds = static_cast<double>(took.count()) / 1e6;
  std::lock_guard lock(mutex_);
  // A client may send any method; the label takes a fixed set, so the series stay bounded.
  static const std::set<std::string> kMethods{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
  auto& s = series_[{kMethods.count(method) ? method : "other", route, status}];
  ++s.count;
  s.sum_seconds += seconds;
  for (std::size_t i = 0; i < kBuckets.size(); ++i)
    if (seconds <= kBuckets[i]) ++s.buckets[i];
}

void Metrics::add_gauge(std::string name, std::string help, std::function<double()> read) {
  std::lock_guard lock(mutex_);
  gauges_[std::move(name)] = {std::move(help), std::move(read)};
}

void Metrics::add_section(std::function<std::string()> render) {
  std::lock_guard lock(mutex_);
  sections_.push_back(std::move(render));
}

std::string Metrics::render() const {
  std::ostringstream out;
  std::lock_guard lock(mutex_);
  out << "# HELP evoucher_http_requests_total HTTP requests answered, by route and status.\n"
      << "# TYPE evoucher_http_requests_total counter\n";
  for (const auto& [key, s] : series_) {
    const auto& [method, route, status] = key;
    out << "evoucher_http_requests_total{method=\"" << method << "\",route=\"" << route << "\",status=\"" << status
        << "\"} " << s.count << "\n";
  }
  out << "# HELP evoucher_http_request_duration_seconds Time from a complete request to its answer.\n"
      << "# TYPE evoucher_http_request_duration_seconds histogram\n";
  std::map<std::pair<std::string, std::string>, Series> by_route;
  for (const auto& [key, s] : series_) {
    auto& agg = by_route[{std::get<0>(key), std::get<1>(key)}];
    agg.count += s.count;
    agg.sum_seconds += s.sum_seconds;
    for (std::size_t i = 0; i < kBuckets.size(); ++i) agg.buckets[i] += s.buckets[i];
  }
  for (const auto& [key, s] : by_route) {
    const std::string labels = "method=\"" + key.first + "\",route=\"" + key.second + "\"";
    for (std::size_t i = 0; i < kBuckets.size(); ++i)
      out << "evoucher_http_request_duration_seconds_bucket{" << labels << ",le=\"" << kBuckets[i] << "\"} "
          << s.buckets[i] << "\n";
    out << "evoucher_http_request_duration_seconds_bucket{" << labels << ",le=\"+Inf\"} " << s.count << "\n";
    out << "evoucher_http_request_duration_seconds_sum{" << labels << "} " << s.sum_seconds << "\n";
    out << "evoucher_http_request_duration_seconds_count{" << labels << "} " << s.count << "\n";
  }
  out << "# HELP evoucher_http_open_connections Client connections open now.\n"
      << "# TYPE evoucher_http_open_connections gauge\n"
      << "evoucher_http_open_connections " << open_connections_.load() << "\n";
  for (const auto& [name, g] : gauges_) {
    out << "# HELP " << name << " " << g.help << "\n# TYPE " << name << " gauge\n" << name << " " << g.read() << "\n";
  }
  for (const auto& section : sections_) out << section();
  return out.str();
}

}  // namespace evoucher::api
