// fork/exec of the evoucher binary for end-to-end tests.
#include "support/process.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "support/http_client.hpp"

namespace evoucher::testing {
namespace {

pid_t spawn(const std::vector<std::string>& args, const std::map<std::string, std::string>& env, int out_fd) {
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    // The child dies with the test: a test program that crashes leaves no service behind holding
    // ctest's output pipe open.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (out_fd >= 0) {
      dup2(out_fd, STDOUT_FILENO);
      dup2(out_fd, STDERR_FILENO);
      close(out_fd);
    }
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> argv;
    static std::string binary = EVOUCHER_BINARY;
    argv.push_back(binary.data());
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

int wait_status(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

CommandResult run_evoucher(const std::vector<std::string>& args, const std::map<std::string, std::string>& env) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = spawn(args, env, fds[1]);
  close(fds[1]);
  CommandResult result;
  std::array<char, 4096> buf;
  ssize_t n;
  while ((n = read(fds[0], buf.data(), buf.size())) > 0) result.output.append(buf.data(), static_cast<std::size_t>(n));
  close(fds[0]);
  result.exit_code = wait_status(pid);
  return result;
}

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : fallback;
}

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

ServeProcess::ServeProcess(const std::string& database_url, std::map<std::string, std::string> env,
                           const std::string& log_path) {
  port_ = free_port();
  env["EVOUCHER_DATABASE_URL"] = database_url;
  env["EVOUCHER_LISTEN"] = "127.0.0.1:" + std::to_string(port_);
  if (!env.count("EVOUCHER_LOG_LEVEL")) env["EVOUCHER_LOG_LEVEL"] = "warn";
  const int log_fd = log_path.empty() ? -1 : open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  pid_ = spawn({"serve"}, env, log_fd);
  if (log_fd >= 0) close(log_fd);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      if (http_get(port_, "/healthz").status == 200) return;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop();
  throw std::runtime_error("evoucher serve did not come up on port " + std::to_string(port_));
}

ServeProcess::~ServeProcess() {
  if (pid_ > 0) stop();
}

int ServeProcess::stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  const int status = wait_status(pid_);
  pid_ = -1;
  return status;
}

RestartingServe::RestartingServe(std::string database_url, std::map<std::string, std::string> env)
    : url_(std::move(database_url)), env_(std::move(env)) {
  std::lock_guard lock(mutex_);
  start_locked();
}

void RestartingServe::kill_and_restart() {
  std::lock_guard lock(mutex_);
  ::kill(process_->pid(), SIGKILL);
  process_.reset();  // reaps it
  start_locked();
}

void RestartingServe::start_locked() {
  process_ = std::make_unique<ServeProcess>(url_, env_);
  port_.store(process_->port());
}

}  // namespace evoucher::testing
