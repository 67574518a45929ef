// A private PostgreSQL cluster in a directory of ours: the service's default database,
// and the throwaway database of the test suite.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace evoucher::store {

class ClusterError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ClusterOptions {
  std::string dir;     // where the cluster lives (for root, a link to a directory the postgres user can reach)
  std::string bindir;  // PostgreSQL's programs; empty: /usr/lib/postgresql/15/bin, else PATH
  bool durable = true; // false turns fsync off: for throwaway test clusters only
};

// PostgreSQL refuses to run as root; as root the cluster runs as the `postgres` user through runuser.
class EmbeddedCluster {
 public:
  explicit EmbeddedCluster(ClusterOptions options);

  // initdb on first use, start when stopped, and create `database` when missing.
  void ensure_running(const std::string& database = "evoucher");
  void start();
  void stop(bool immediate = false);
  bool running() const;
  // Stops the cluster and deletes its files.
  void destroy();
  // A libpq connection string for a database of this cluster.
  std::string url(const std::string& database = "evoucher") const;
  const std::string& data_dir() const { return data_dir_; }
  const std::string& socket_dir() const { return socket_dir_; }

 private:
  int pg(const std::string& program, const std::vector<std::string>& args, std::string* output = nullptr) const;
  void resolve_paths();
  void place_socket();
  void write_settings() const;

  ClusterOptions options_;
  std::string bindir_;
  std::string data_dir_;    // the real data directory
  std::string socket_dir_;
  bool as_postgres_ = false;
};

}  // namespace evoucher::store
