// The real `evoucher serve` against the test PostgreSQL: operations endpoints, problem answers,
// readiness across a database restart, and a graceful SIGTERM.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

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
  EXPECT_EQ(http_get(server->port(), "/readyz").status, 200);
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

TEST_F(OperationsTest, SigtermExitsZero) {
  EXPECT_EQ(http_get(server->port(), "/readyz").status, 200);
  EXPECT_EQ(server->stop(), 0);
}

}  // namespace
}  // namespace evoucher::testing
