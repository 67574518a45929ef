// Limits and faults at the edge: the connection cap, the header limit, the read deadline that
// cuts off a slow (slowloris) client, and a database outage the service rides out by itself.
// Each runs the real `evoucher serve` against the test PostgreSQL.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "api/api_fixture.hpp"

namespace evoucher::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

void send_text(int fd, const std::string& text) { (void)send(fd, text.data(), text.size(), MSG_NOSIGNAL); }

// Waits up to `limit` for the server to close fd (EOF or an error); what it sent before is kept
// in `received`. True when it closed.
bool closed_within(int fd, milliseconds limit, std::string* received = nullptr) {
  const auto deadline = Clock::now() + limit;
  char buffer[4096];
  while (Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    if (poll(&p, 1, static_cast<int>(std::max<long long>(left, 1))) <= 0) continue;
    const auto n = recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) return true;
    if (received) received->append(buffer, static_cast<std::size_t>(n));
  }
  return false;
}

class EdgeLimits : public ::testing::Test {
 protected:
  void start(std::map<std::string, std::string> env) {
    url = PgHarness::instance().fresh_database();
    server = std::make_unique<ServeProcess>(url, std::move(env));
  }
  std::string url;
  std::unique_ptr<ServeProcess> server;
};

TEST_F(EdgeLimits, ConnectionsPastTheCapAreClosedAtOnceAndTheCapFrees) {
  start({{"EVOUCHER_MAX_CONNECTIONS", "3"}});
  // The start-up probe's connection is gone once the server has closed it.
  std::this_thread::sleep_for(milliseconds(300));
  std::vector<int> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(connect_loopback(server->port()));
    send_text(held.back(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");  // served, then kept alive
    std::string first;
    EXPECT_FALSE(closed_within(held.back(), milliseconds(500), &first)) << "connection " << i << " was dropped";
    EXPECT_EQ(first.rfind("HTTP/1.1 200 OK", 0), 0u) << "connection " << i << ": " << first;
  }
  const int extra = connect_loopback(server->port());
  std::string got;
  EXPECT_TRUE(closed_within(extra, milliseconds(1000), &got));
  EXPECT_EQ(got, "");  // closed without an answer: the cap is not a queue
  close(extra);
  // The held connections still work.
  for (int fd : held) {
    send_text(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    std::string answer;
    EXPECT_TRUE(closed_within(fd, milliseconds(2000), &answer));
    EXPECT_NE(answer.find("HTTP/1.1 200 OK"), std::string::npos) << answer;
    close(fd);
  }
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(http_get(server->port(), "/healthz").status, 200);
}

TEST_F(EdgeLimits, HeadersPastTheLimitGet400AndTheConnectionCloses) {
  start({{"EVOUCHER_HEADER_LIMIT_BYTES", "1024"}});
  const int fd = connect_loopback(server->port());
  send_text(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: " + std::string(2000, 'a') + "\r\n\r\n");
  std::string answer;
  EXPECT_TRUE(closed_within(fd, milliseconds(2000), &answer));
  close(fd);
  EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer.substr(0, 80);
  EXPECT_NE(answer.find(R"("detail":"the headers exceed 1024 bytes")"), std::string::npos) << answer;
  // Headers under the limit are fine.
  EXPECT_EQ(http_get(server->port(), "/healthz", {{"X-Padding", std::string(500, 'a')}}).status, 200);
}

// One deadline covers reading a whole request, however the bytes trickle in: headers a byte at a
// time, a body that stalls, or a kept-alive connection that never sends the next request.
TEST_F(EdgeLimits, SlowClientsAreCutOffAtTheReadDeadlineWhileOthersAreServed) {
  start({{"EVOUCHER_READ_TIMEOUT_MS", "1000"}});
  const auto began = Clock::now();
  std::vector<int> slow;
  for (int i = 0; i < 20; ++i) {
    slow.push_back(connect_loopback(server->port()));
    send_text(slow.back(), i % 2 ? "GET /healthz HTTP/1.1\r\nHost: x\r\n"
                                 : "POST /v1/loads HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                   "Content-Length: 100\r\n\r\n{\"member\":");
  }
  const int idle = connect_loopback(server->port());
  send_text(idle, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  // A trickle keeps each slow connection busy: one more header line, or one more body byte.
  std::vector<bool> open(slow.size(), true);
  int cut = 0;
  while (cut < static_cast<int>(slow.size()) && Clock::now() - began < milliseconds(3000)) {
    for (std::size_t i = 0; i < slow.size(); ++i) {
      if (!open[i]) continue;
      send_text(slow[i], i % 2 ? "X-Slow: 1\r\n" : " ");
      if (closed_within(slow[i], milliseconds(5))) open[i] = false, ++cut;
    }
    // Meanwhile everyone else is served at once.
    if (Clock::now() - began < milliseconds(800)) {
      const auto asked = Clock::now();
      EXPECT_EQ(http_get(server->port(), "/healthz").status, 200);
      EXPECT_LT(Clock::now() - asked, milliseconds(200));
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
  const auto took = Clock::now() - began;
  EXPECT_EQ(cut, 20);
  EXPECT_GE(took, milliseconds(900));
  EXPECT_LT(took, milliseconds(2500));
  std::string answer;
  EXPECT_TRUE(closed_within(idle, milliseconds(1000), &answer));  // served, then closed when idle past the deadline
  EXPECT_EQ(answer.rfind("HTTP/1.1 200 OK", 0), 0u);
  for (int fd : slow) close(fd);
  close(idle);
}

class DatabaseOutage : public ApiTest {};

// While PostgreSQL is down, every call that needs it answers 503 `unavailable` with Retry-After
// within 2 s, and /readyz says so; once it is back, the service recovers by itself, and a call
// refused during the outage is judged afresh.
TEST_F(DatabaseOutage, CallsAnswer503QuicklyAndTheServiceRecoversByItself) {
  ASSERT_EQ(load("m1", 50000, "before").status, 201);
  auto& cluster = PgHarness::instance().cluster();
  cluster.stop();
  auto expect_unavailable = [](const Answer& a, Clock::time_point asked, const char* what) {
    EXPECT_LT(Clock::now() - asked, std::chrono::seconds(2)) << what;
    EXPECT_EQ(a.status, 503) << what << ": " << a.body.dump();
    EXPECT_EQ(a.body["code"], "unavailable") << what;
    EXPECT_EQ(a.headers.at("retry-after"), "1") << what;
  };
  for (int round = 0; round < 2; ++round) {  // the second round finds the broken connections again
    auto asked = Clock::now();
    expect_unavailable(answer(http_get(server->port(), "/readyz")), asked, "readyz");
    asked = Clock::now();
    expect_unavailable(pay("during", "c1", "bp-cafe", 10000, "2020-03-02T12:00:00+09:00"), asked, "payment");
    asked = Clock::now();
    expect_unavailable(load("m1", 1000, "during"), asked, "load");
    asked = Clock::now();
    expect_unavailable(admin("GET", "/v1/members/m1"), asked, "member");
  }
  EXPECT_EQ(http_get(server->port(), "/healthz").status, 200);
  cluster.start();
  const auto back = Clock::now();
  while (http_get(server->port(), "/readyz").status != 200 && Clock::now() - back < std::chrono::seconds(10))
    std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(http_get(server->port(), "/readyz").status, 200);
  // The same event and key again: nothing was stored during the outage, so both are judged now.
  const auto paid = pay("during", "c1", "bp-cafe", 10000, "2020-03-02T12:00:00+09:00");
  EXPECT_EQ(paid.status, 200);
  EXPECT_EQ(paid.body["decision"], "approved") << paid.body.dump();
  EXPECT_EQ(load("m1", 1000, "during").status, 201);
  EXPECT_EQ(admin("GET", "/v1/members/m1").body["cash"], 50000 - 10000 + 1000);
  EXPECT_EQ(scalar("SELECT count(*) FROM payments"), 1);
  EXPECT_EQ(scalar("SELECT count(*) FROM loads"), 2);
}

}  // namespace
}  // namespace evoucher::testing
