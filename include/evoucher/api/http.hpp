// The api layer's view of HTTP: plain structs, so that Beast stays in the transport.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace evoucher::api {

class BodyStream;

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string path;    // without the query
  std::string query;   // after '?', undecoded
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;

  const std::string* header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? nullptr : &it->second;
  }
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // When set, the body is sent as it is written (chunked), and `body` is ignored.
  std::shared_ptr<BodyStream> stream;
};

// Called exactly once, from any thread.
using Reply = std::function<void(Response)>;

}  // namespace evoucher::api
