// Routing is a table of {verb, path pattern, handler}; a path that matches with another verb is 405.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "evoucher/api/http.hpp"

namespace evoucher::api {

using PathParams = std::map<std::string, std::string>;
using Handler = std::function<void(const Request&, const PathParams&, Reply)>;

struct Route {
  std::string method;
  std::string pattern;  // "/v1/members/{id}/statement"
  Handler handler;
};

class Router {
 public:
  void add(std::string method, std::string pattern, Handler handler);

  struct Match {
    const Route* route = nullptr;  // null: no route
    PathParams params;
    std::vector<std::string> allowed;  // when the path matched but the verb did not
  };
  Match match(const std::string& method, const std::string& path) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

}  // namespace evoucher::api
