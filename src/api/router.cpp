// Segment-by-segment matching; {name} captures one non-empty segment.
#include "evoucher/api/router.hpp"

namespace evoucher::api {
namespace {

std::vector<std::string> split(const std::string& path) {
  std::vector<std::string> out;
  std::size_t start = 1;
  if (path.empty() || path[0] != '/') return {"\x01"};  // never matches
  while (start <= path.size()) {
    const std::size_t end = path.find('/', start);
    out.push_back(path.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

bool match_pattern(const std::string& pattern, const std::vector<std::string>& segments, PathParams& params) {
  const auto parts = split(pattern);
  if (parts.size() != segments.size()) return false;
  PathParams found;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const auto& p = parts[i];
    if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
      if (segments[i].empty()) return false;
      found[p.substr(1, p.size() - 2)] = segments[i];
    } else if (p != segments[i]) {
      return false;
    }
  }
  params = std::move(found);
  return true;
}

}  // namespace

void Router::add(std::string method, std::string pattern, Handler handler) {
  routes_.push_back({std::move(method), std::move(pattern), std::move(handler)});
}

Router::Match Router::match(const std::string& method, const std::string& path) const {
  Match m;
  const auto segments = split(path);
  for (const auto& route : routes_) {
    PathParams params;
    if (!match_pattern(route.pattern, segments, params)) continue;
    if (route.method == method) {
      m.route = &route;
      m.params = std::move(params);
      m.allowed.clear();
      return m;
    }
    m.allowed.push_back(route.method);
  }
  return m;
}

}  // namespace evoucher::api
