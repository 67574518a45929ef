// Child processes for tests: the real `evoucher` binary, with its environment and output.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace evoucher::testing {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs `evoucher args...` to completion with extra environment variables.
CommandResult run_evoucher(const std::vector<std::string>& args, const std::map<std::string, std::string>& env);

// A running `evoucher serve`, stopped with SIGTERM by stop() or the destructor.
class ServeProcess {
 public:
  // With a log_path, the service's output goes to that file (appended) instead of the test's.
  ServeProcess(const std::string& database_url, std::map<std::string, std::string> extra_env = {},
               const std::string& log_path = "");
  ~ServeProcess();
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // SIGTERM, then waits; returns the exit status (128 + signal when killed by one).
  int stop();

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

// A running `evoucher serve` that a test kills with SIGKILL and starts again, on a new port, from
// any thread. With PostgreSQL down it still starts: readiness follows the database.
class RestartingServe {
 public:
  RestartingServe(std::string database_url, std::map<std::string, std::string> env);
  int port() const { return port_.load(); }
  void kill_and_restart();

 private:
  void start_locked();
  std::string url_;
  std::map<std::string, std::string> env_;
  std::mutex mutex_;
  std::unique_ptr<ServeProcess> process_;
  std::atomic<int> port_{0};
};

int free_port();

// An integer from the environment (a test's knob, such as EVOUCHER_CRASH_KILLS), or fallback.
int env_int(const char* name, int fallback);

}  // namespace evoucher::testing
