// The real `evoucher serve` against the test PostgreSQL: operations endpoints, problem answers,
// readiness across a database restart, and a graceful SIGTERM.
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <thread>

#include "evoucher/transport/server.hpp"
#include "support/http_client.hpp"
#include "support/pg_harness.hpp"
#include "support/process.hpp"

namespace evoucher::testing {
namespace {

using json = nlohmann::json;

class OperationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url = PgHarness::instance().fresh_database();
    server = std::make_unique<ServeProcess>(url);
  }
  std::string url;
  std::unique_ptr<ServeProcess> server;
};

void expect_problem(const HttpResult& r, int status, const std::string& code, const std::string& detail) {
  EXPECT_EQ(r.status, status);
  EXPECT_EQ(r.headers.at("content-type"), "application/problem+json");
  const auto body = json::parse(r.body);
  EXPECT_EQ(body.at("status"), status);
  EXPECT_EQ(body.at("code"), code);
  EXPECT_EQ(body.at("detail"), detail);
  EXPECT_EQ(body.at("type"), "https://evoucher.example/problems/" + code);
  EXPECT_TRUE(body.at("title").is_string());
}

TEST_F(OperationsTest, HealthAndReadiness) {
  auto health = http_get(server->port(), "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, R"({"status":"ok"})");
  auto ready = http_get(server->port(), "/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.body, R"({"status":"ready"})");
}

TEST_F(OperationsTest, ReadinessFollowsTheDatabaseWithoutARestart) {
  auto& cluster = PgHarness::instance().cluster();
  ASSERT_EQ(http_get(server->port(), "/readyz").status, 200);
  cluster.stop();
  const auto asked = std::chrono::steady_clock::now();
  auto down = http_get(server->port(), "/readyz");
  EXPECT_LT(std::chrono::steady_clock::now() - asked, std::chrono::seconds(2));
  expect_problem(down, 503, "unavailable", "the database is unavailable; try again shortly");
  EXPECT_EQ(down.headers.at("retry-after"), "1");
  EXPECT_EQ(http_get(server->port(), "/healthz").status, 200);
  cluster.start();
  const auto up = http_get(server->port(), "/readyz");
  EXPECT_EQ(up.status, 200) << up.body;
}

TEST_F(OperationsTest, UnknownPathAndWrongMethodAreProblems) {
  expect_problem(http_get(server->port(), "/v1/nothing-here"), 404, "not_found", "no resource at /v1/nothing-here");
  auto wrong = http_request(server->port(), "DELETE", "/healthz");
  expect_problem(wrong, 405, "method_not_allowed", "DELETE is not allowed on /healthz; allowed: GET");
  EXPECT_EQ(wrong.headers.at("allow"), "GET");
}

TEST_F(OperationsTest, OversizedBodyIs413) {
  const std::string big(1024 * 1024 + 1, 'x');
  expect_problem(http_request(server->port(), "POST", "/healthz", big), 413, "payload_too_large",
                 "the body exceeds 1048576 bytes");
}

// A client still sending a body far past the limit reads its 413, never a reset.
TEST_F(OperationsTest, OversizedBodyIs413EvenWhileTheClientIsStillSending) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    const int fd = connect_loopback(server->port());
    const std::size_t body = 6 * 1024 * 1024;
    std::string request = "POST /v1/loads HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                          std::to_string(body) + "\r\n\r\n";
    request += std::string(body, 'x');
    std::size_t sent = 0;
    while (sent < request.size()) {
      const auto n = send(fd, request.data() + sent, std::min<std::size_t>(64 * 1024, request.size() - sent), MSG_NOSIGNAL);
      if (n <= 0) break;  // the server stopped reading: its answer must still be there
      sent += static_cast<std::size_t>(n);
    }
    // The server drained the body rather than resetting the connection: a client that sends its
    // whole request before reading (most do) gets to read the answer.
    EXPECT_EQ(sent, request.size()) << "attempt " << attempt;
    std::string answer;
    char buffer[4096];
    for (ssize_t n; (n = recv(fd, buffer, sizeof buffer, 0)) > 0;) answer.append(buffer, static_cast<std::size_t>(n));
    close(fd);
    EXPECT_EQ(answer.rfind("HTTP/1.1 413", 0), 0u) << "attempt " << attempt << ", sent " << sent << " bytes, got '"
                                                   << answer.substr(0, 80) << "'";
    EXPECT_NE(answer.find("the body exceeds 1048576 bytes"), std::string::npos);
  }
}

TEST_F(OperationsTest, MetricsCountRequests) {
  http_get(server->port(), "/readyz");
  http_get(server->port(), "/readyz");
  http_get(server->port(), "/nope");
  auto m = http_get(server->port(), "/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.headers.at("content-type"), "text/plain; version=0.0.4");
  EXPECT_NE(m.body.find("evoucher_http_requests_total{method=\"GET\",route=\"/readyz\",status=\"200\"} 2\n"),
            std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("evoucher_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1\n"),
            std::string::npos);
  EXPECT_NE(m.body.find("evoucher_db_queue_depth 0\n"), std::string::npos);
}

// A client may invent methods; each one would otherwise be a new series.
TEST_F(OperationsTest, MetricsLabelInventedMethodsAsOther) {
  for (const char* method : {"BREW", "FROB", "PROPFIND"}) EXPECT_EQ(http_request(server->port(), method, "/readyz", "", {}).status, 405);
  auto m = http_get(server->port(), "/metrics");
  EXPECT_NE(m.body.find("evoucher_http_requests_total{method=\"other\",route=\"unmatched\",status=\"405\"} 3\n"),
            std::string::npos)
      << m.body;
  for (const char* method : {"BREW", "FROB", "PROPFIND"}) EXPECT_EQ(m.body.find(method), std::string::npos);
}

// The default of 10,000 connections is more than the usual 1,024 descriptors: the cap follows
// RLIMIT_NOFILE, after the database's connections.
TEST(ConnectionCap, FollowsTheDescriptorLimit) {
  EXPECT_EQ(transport::connection_cap(10'000, 1'024, 72), 952);
  EXPECT_EQ(transport::connection_cap(100, 1'024, 72), 100);
  EXPECT_EQ(transport::connection_cap(10'000, 1'048'576, 72), 10'000);
  EXPECT_EQ(transport::connection_cap(10'000, 50, 72), 1);
}

namespace {

double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string f;
  long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = std::stoll(f);
    if (i == 15) stime = std::stoll(f);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

int open_descriptors(pid_t pid) {
  int n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) ++n;
  return n;
}

}  // namespace

// Out of descriptors, the accept loop waits instead of spinning, and serves again once some are
// free.
TEST_F(OperationsTest, AcceptErrorsBackOffInsteadOfSpinning) {
  const pid_t pid = server->pid();
  rlimit before{};
  ASSERT_EQ(prlimit(pid, RLIMIT_NOFILE, nullptr, &before), 0);
  const rlimit tight{static_cast<rlim_t>(open_descriptors(pid) + 4), before.rlim_max};  // the soft limit only
  ASSERT_EQ(prlimit(pid, RLIMIT_NOFILE, &tight, nullptr), 0);
  std::vector<int> clients;
  for (int i = 0; i < 20; ++i) {
    const int fd = connect_loopback(server->port());
    clients.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const double cpu0 = cpu_seconds(pid);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const double busy = cpu_seconds(pid) - cpu0;
  EXPECT_LT(busy, 0.3) << "the accept loop spun for " << busy << " s of CPU in 1 s";
  for (int fd : clients) close(fd);
  ASSERT_EQ(prlimit(pid, RLIMIT_NOFILE, &before, nullptr), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // the longest wait between tries
  EXPECT_EQ(http_get(server->port(), "/healthz").status, 200);
}

TEST_F(OperationsTest, SigtermExitsZero) {
  EXPECT_EQ(http_get(server->port(), "/readyz").status, 200);
  EXPECT_EQ(server->stop(), 0);
}

}  // namespace
}  // namespace evoucher::testing
