// A minimal blocking HTTP/1.1 client over loopback, enough for end-to-end tests.
#pragma once

#include <map>
#include <string>

namespace evoucher::testing {

struct HttpResult {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;  // de-chunked when the answer was chunked
  bool complete = true;  // false when a chunked body ended without its last chunk
};

// A TCP connection to 127.0.0.1:port; the descriptor is the caller's to close.
int connect_loopback(int port);

HttpResult http_request(int port, const std::string& method, const std::string& target, const std::string& body = "",
                        const std::map<std::string, std::string>& headers = {});
// The X-Evoucher-Signature header value for a body, signed now (plus skew_seconds) with secret.
std::string processor_signature(const std::string& secret, const std::string& body, long skew_seconds = 0);

inline HttpResult http_get(int port, const std::string& target, const std::map<std::string, std::string>& headers = {}) {
  return http_request(port, "GET", target, "", headers);
}

}  // namespace evoucher::testing
