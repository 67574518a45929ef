// One request per connection (Connection: close), read to EOF.
#include "support/http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ctime>
#include <stdexcept>

#include "evoucher/crypto.hpp"

namespace evoucher::testing {

std::string processor_signature(const std::string& secret, const std::string& body, long skew_seconds) {
  const std::string t = std::to_string(std::time(nullptr) + skew_seconds);
  return "t=" + t + ",v1=" + hmac_sha256_hex(secret, t + "." + body);
}

int connect_loopback(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    throw std::runtime_error("connect failed");
  }
  return fd;
}

namespace {

// The body of a chunked answer; complete is whether the last (empty) chunk arrived.
std::string dechunked(const std::string& raw, bool& complete) {
  std::string body;
  complete = false;
  std::size_t at = 0;
  for (;;) {
    const auto line_end = raw.find("\r\n", at);
    if (line_end == std::string::npos) return body;
    const auto size = std::stoul(raw.substr(at, line_end - at), nullptr, 16);
    if (size == 0) {
      complete = true;
      return body;
    }
    if (line_end + 2 + size > raw.size()) return body + raw.substr(line_end + 2);
    body.append(raw, line_end + 2, size);
    at = line_end + 2 + size + 2;
  }
}

}  // namespace

HttpResult http_request(int port, const std::string& method, const std::string& target, const std::string& body,
                        const std::map<std::string, std::string>& headers) {
  const int fd = connect_loopback(port);
  timeval tv{30, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string request = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  bool has_type = false;
  for (const auto& [k, v] : headers) {
    request += k + ": " + v + "\r\n";
    if (k == "Content-Type") has_type = true;
  }
  if (!body.empty() && !has_type) request += "Content-Type: application/json\r\n";
  if (!body.empty() || method == "POST" || method == "PATCH")
    request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  request += "\r\n" + body;
  for (std::size_t sent = 0; sent < request.size();) {
    const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer (413) and close before reading everything
    sent += static_cast<std::size_t>(n);
  }
  std::string raw;
  char buf[8192];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof buf, 0)) > 0) raw.append(buf, static_cast<std::size_t>(n));
  close(fd);
  const auto head_end = raw.find("\r\n\r\n");
  if (raw.size() < 12 || head_end == std::string::npos) throw std::runtime_error("no HTTP answer");
  HttpResult result;
  result.status = std::stoi(raw.substr(9, 3));
  std::size_t line_start = raw.find("\r\n") + 2;
  while (line_start < head_end) {
    const auto line_end = raw.find("\r\n", line_start);
    const std::string line = raw.substr(line_start, line_end - line_start);
    const auto colon = line.find(':');
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    result.headers[name] = value;
    line_start = line_end + 2;
  }
  result.body = raw.substr(head_end + 4);
  if (result.headers["transfer-encoding"] == "chunked") result.body = dechunked(result.body, result.complete);
  return result;
}

}  // namespace evoucher::testing
