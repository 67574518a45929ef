// The failover tests' formation and service: scripts/formation.sh (a pg_auto_failover monitor, a
// primary and a synchronous standby) started once per test program, and the service on it.
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <pqxx/pqxx>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/signing_client.hpp"

namespace evoucher::testing {

inline bool port_free(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// scripts/formation.sh on a throwaway directory and three free ports.
class Formation {
 public:
  Formation() {
    std::mt19937 rng(static_cast<unsigned>(getpid()) ^ static_cast<unsigned>(std::time(nullptr)));
    do base_port_ = std::uniform_int_distribution<int>(20000, 40000)(rng);
    while (!port_free(base_port_) || !port_free(base_port_ + 1) || !port_free(base_port_ + 2));
    dir_ = (std::filesystem::temp_directory_path() / ("evoucher-ha-" + std::to_string(getpid()))).string();
    std::filesystem::remove_all(dir_);
    try {
      // The URL is the last line the start prints.
      url_ = trimmed(script("start"));
      url_ = url_.substr(url_.rfind('\n') == std::string::npos ? 0 : url_.rfind('\n') + 1);
      if (url_.find("dbname=evoucher") == std::string::npos) throw std::runtime_error("no URL from the start: " + url_);
    } catch (...) {
      stop();
      throw;
    }
  }
  ~Formation() { stop(); }
  void stop() {
    try {
      script("stop");
    } catch (const std::exception&) {
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  // The service's URL for a database of the formation.
  std::string url(const std::string& database = "evoucher") const {
    std::string u = url_;
    u.replace(u.find("dbname=evoucher"), 15, "dbname=" + database);
    return u;
  }
  std::string primary() { return trimmed(script("primary")); }
  static std::string other(const std::string& node) { return node == "node1" ? "node2" : "node1"; }
  int port_of(const std::string& node) const { return base_port_ + (node == "node1" ? 1 : 2); }
  void kill(const std::string& node, bool whole_node) { script("kill", node + (whole_node ? " node" : " postgres")); }
  void rejoin(const std::string& node) { script("rejoin", node); }
  void wait_settled() { script("wait", "180"); }
  // scripts/backup.sh on the formation's pgBackRest repository; `take` records into `url`'s database.
  std::string backup(const std::string& args, const std::string& url = "") const {
    return script("backup", args, url.empty() ? "" : "EVOUCHER_DATABASE_URL='" + url + "' ");
  }
  // A restore to `time` into a new directory of the formation, started on a free port: its URL.
  std::string restore(const std::string& time, const std::string& name) const {
    int port = base_port_ + 3;
    while (!port_free(port)) ++port;
    const std::string out = trimmed(backup("restore '" + time + "' " + dir_ + "/" + name + " " + std::to_string(port)));
    return out.substr(out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1);
  }
  std::string state() { return script("state"); }

  std::string script(const std::string& command, const std::string& args = "", const std::string& env = "") const {
    const std::string line = env + "EVOUCHER_HA_PORT=" + std::to_string(base_port_) + " EVOUCHER_HA_FSYNC=off " +
                             EVOUCHER_SOURCE_DIR + "/scripts/formation.sh " + command + " " + dir_ + " " + args +
                             " 2>&1";
    std::string out;
    FILE* p = ::popen(line.c_str(), "r");
    if (!p) throw std::runtime_error("cannot run " + line);
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int status = ::pclose(p);
    if (status != 0) throw std::runtime_error(line + " failed: " + out);
    return out;
  }

 private:
  static std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }
  int base_port_ = 0;
  std::string dir_, url_;
};

// One formation for the whole test program: inline, so every test file shares this one static.
inline Formation& formation() {
  static Formation f;
  return f;
}

// A database of its own on the formation, migrated and seeded with the demo.
inline std::string demo_database(const std::string& name) {
  {
    pqxx::connection c(formation().url());
    pqxx::nontransaction n(c);
    n.exec("CREATE DATABASE " + name);
  }
  // Each node has it: libpq tries the next host after a refused read-write check, but not after a
  // node that has yet to replay the CREATE DATABASE refuses the login.
  for (const char* node : {"node1", "node2"}) {
    const auto until = StreamClock::now() + std::chrono::seconds(60);
    for (;;) {
      try {
        pqxx::connection c("host=127.0.0.1 port=" + std::to_string(formation().port_of(node)) +
                           " user=evoucher dbname=" + name);
        break;
      } catch (const std::exception&) {
        if (StreamClock::now() > until) throw;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
  }
  const std::string url = formation().url(name);
  for (const auto& args : {std::vector<std::string>{"migrate"}, std::vector<std::string>{"seed", "demo"}}) {
    const auto r = run_evoucher(args, {{"EVOUCHER_DATABASE_URL", url}});
    if (r.exit_code != 0) throw std::runtime_error(args[0] + " failed: " + r.output);
  }
  return url;
}

inline std::map<std::string, std::string> service_env(std::map<std::string, std::string> more = {}) {
  more.insert({{"EVOUCHER_ADMIN_TOKEN", kStreamAdminToken},
               {"EVOUCHER_PROCESSOR_SECRET", kStreamSecret},
               {"EVOUCHER_LOG_LEVEL", "warn"}});
  more.insert({"EVOUCHER_METRICS_REFRESH_S", "1"});
  return more;
}

// A gauge of /metrics, or -1 when absent.
inline double gauge(RestartingServe& service, const std::string& name) {
  const auto body = http_get(service.port(), "/metrics").body;
  const auto at = body.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stod(body.substr(at + name.size() + 2));
}

// Waits (the figures are read every second here) until the gauge reads `value`.
inline bool gauge_reaches(RestartingServe& service, const std::string& name, double value) {
  const auto deadline = StreamClock::now() + std::chrono::seconds(20);
  while (StreamClock::now() < deadline) {
    if (gauge(service, name) == value) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ADD_FAILURE() << name << " did not reach " << value << ": " << gauge(service, name);
  return false;
}

// Waits until `node` is no longer primary and the formation has a primary
// again: the standby's promotion after a whole node was lost.
inline void wait_for_new_primary(const std::string& lost, StreamClock::time_point deadline) {
  while (StreamClock::now() < deadline) {
    try {
      const auto p = formation().primary();
      if (!p.empty() && p != lost) return;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  throw std::runtime_error("no new primary in time:\n" + formation().state());
}

}  // namespace evoucher::testing
