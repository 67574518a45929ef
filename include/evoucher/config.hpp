// Service settings: defaults, then config/evoucher.json (or --config), then EVOUCHER_* environment overrides.
#pragma once

#include <cstdint>
#include <string>

namespace evoucher {

struct Config {
  std::string listen = "127.0.0.1:8080";
  // Empty: the embedded default, a private PostgreSQL cluster under embedded_pg_dir.
  std::string database_url;
  std::string embedded_pg_dir = "var/pg";
  std::string pg_bindir;  // empty: /usr/lib/postgresql/15/bin, else PATH
  int io_threads = 2;
  int db_workers = 4;
  int db_queue_limit = 1024;         // jobs waiting for a database worker before 503
  int statement_timeout_ms = 5000;   // server-side, per statement
  int connect_timeout_s = 2;
  int read_timeout_ms = 15000;       // deadline for reading one request
  int shutdown_grace_ms = 10000;     // in-flight work allowed to finish on SIGTERM
  std::uint64_t body_limit_bytes = 1 << 20;
  std::uint32_t header_limit_bytes = 16 * 1024;
  int max_connections = 10000;
  int signature_window_s = 300;
  int batch_chunk_size = 10000;      // payments per batch transaction
  int group_writers = 2;             // money-path writer threads, each with its own connection
  int group_max = 64;                // commands per group commit
  int group_queue_limit = 4096;      // commands waiting for a writer before 503
  // How long a money-path caller waits from its command's arrival (for a commit that waits for
  // the synchronous standby, for locks such a commit holds, or in the queue) before 503; the
  // commit itself goes on.
  int commit_wait_ms = 2000;
  int cli_statement_timeout_ms = 0;  // per statement, for verify, batch and migrate; 0: none
  int export_workers = 2;            // CSV exports streaming at once, each with its own connection
  int export_queue_limit = 8;        // exports waiting for a worker before 503
  // Reports, statements, CSV exports, the console's reads and /metrics' business figures read
  // here: empty, the database URL with target_session_attrs=prefer-standby (a formation's
  // standby when one answers). A standby further behind than read_max_stale_ms, or no longer
  // synchronous, is passed over for the primary. The money path and the batch read the primary.
  std::string read_database_url;
  int read_workers = 2;
  int read_queue_limit = 256;
  int read_max_stale_ms = 5000;
  int metrics_refresh_s = 15;        // how often /metrics reads the business figures from the database
  // The admin console's files, served at /console/. Empty: src/console under the working
  // directory, else /usr/share/evoucher/console, else the source tree's.
  std::string console_dir;
  // Chart.js for the console's charts, from Debian's libjs-chart.js.
  std::string chartjs_path = "/usr/share/javascript/chart.js/chart.min.js";
  std::string log_level = "info";
  std::string processor_secret;  // environment only
  std::string admin_token;       // environment only
};

// Thrown for an unreadable or invalid configuration; the message names the setting.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reads `path` when it exists (an explicit path must exist), then applies the environment.
Config load_config(const std::string& path, bool path_is_explicit);

std::string config_to_json(const Config& config);  // secrets are left out

}  // namespace evoucher
