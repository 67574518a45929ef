// The router and the query-string parser over arbitrary request lines. The input is
// "<method> <path>[?<query>]". A match fills every {name} of its pattern with a non-empty
// segment of the path; a miss with a path that matched lists the methods allowed there.
#include <cstdint>
#include <string>

#include "evoucher/api/json_input.hpp"
#include "evoucher/api/router.hpp"

using namespace evoucher::api;

namespace {

void require(bool holds) {
  if (!holds) __builtin_trap();
}

// The shapes of the service's routes: literal segments, one and two captures, shared prefixes.
const Router& routes() {
  static const Router router = [] {
    Router r;
    const Handler none = [](const Request&, const PathParams&, Reply) {};
    for (const char* p : {"/healthz", "/v1/districts", "/v1/members", "/v1/cards", "/v1/merchants", "/v1/pools",
                          "/v1/loads", "/v1/refunds", "/v1/audit", "/v1/batches/cashback"}) {
      r.add("GET", p, none);
      r.add("POST", p, none);
    }
    for (const char* p : {"/v1/members/{id}", "/v1/members/{id}/statement", "/v1/cards/{token}",
                          "/v1/merchants/{id}", "/v1/pools/{id}/top-ups", "/v1/districts/{code}/summary",
                          "/v1/batches/cashback/{district}/{date}"})
      r.add("GET", p, none), r.add("PATCH", p, none);
    return r;
  }();
  return router;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const auto space = input.find(' ');
  const std::string method = input.substr(0, space);
  std::string target = space == std::string::npos ? "" : input.substr(space + 1);
  const auto mark = target.find('?');
  const std::string query = mark == std::string::npos ? "" : target.substr(mark + 1);
  const std::string path = target.substr(0, mark);

  const auto m = routes().match(method, path);
  if (m.route) {
    require(m.route->method == method && m.allowed.empty());
    for (const auto& [name, value] : m.params) {
      require(!value.empty() && value.find('/') == std::string::npos);
      require(m.route->pattern.find("{" + name + "}") != std::string::npos);
    }
  } else {
    for (const auto& allowed : m.allowed) require(allowed != method);
  }
  if (const auto pairs = parse_query(query))
    for (const auto& [key, value] : *pairs) (void)is_utf8(key), (void)is_utf8(value);
  return 0;
}
