// The HTTP transport: Beast's advanced-server shape, one io_context run by N threads,
// a strand per connection, and SIGINT/SIGTERM for a graceful stop.
#pragma once

#include <memory>

#include "evoucher/api/service.hpp"
#include "evoucher/config.hpp"

namespace evoucher::transport {

// How many client connections to serve at once: the configured number, but never more than the
// descriptors left under RLIMIT_NOFILE once `reserved` (database connections, the listener,
// logs) are set aside, and at least 1.
int connection_cap(int configured, long long descriptor_limit, int reserved);

class Server {
 public:
  Server(const Config& config, api::Service& service);
  ~Server();

  // Listens, serves until SIGINT or SIGTERM, then stops accepting, lets in-flight requests
  // finish (up to shutdown_grace_ms), and returns.
  void run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace evoucher::transport
