// Concurrency and shutdown over HTTP: many payments at once, a kill after commit, backpressure,
// SIGTERM and the shutdown grace, and bad credentials that never queue for the database.
#include <signal.h>

#include <atomic>
#include <mutex>
#include <optional>
#include <thread>

#include "api/contract_fixture.hpp"

namespace evoucher::testing {
namespace {

TEST_F(Contract, SixtyFourPaymentsAgainstThreeHundredThousand) {
  ASSERT_EQ(load("m1", 300'000, "conc-load").status, 201);
  std::atomic<int> approved{0}, insufficient{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 64; ++i) {
    threads.emplace_back([&, i] {
      auto r = pay("conc-" + std::to_string(i), "c1", "bp-cafe", 10'000, "2020-03-02T10:00:00+09:00");
      if (r.body["decision"] == "approved") {
        ++approved;
      } else if (r.body["reason"] == "insufficient_funds") {
        ++insufficient;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(approved.load(), 30);
  EXPECT_EQ(insufficient.load(), 34);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(admin("GET", "/v1/members/m1").body["cash"], 0);
  EXPECT_EQ(admin("GET", "/v1/merchants/bp-cafe").body["payable"], 300'000);
  EXPECT_EQ(run_evoucher({"verify"}, {{"EVOUCHER_DATABASE_URL", url}}).exit_code, 0);
}

// A hot merchant: its payable moves once per group, by the group's sum.
TEST_F(Contract, SixtyFourConcurrentPaymentsToOneMerchantAddUpOnItsPayable) {
  for (const char* m : {"m1", "m2", "m3", "m4"})
    ASSERT_EQ(load(m, 500'000, std::string("hot-") + m).status, 201);
  const char* cards[] = {"c1", "c2", "c3", "c4"};
  std::atomic<long long> charged{0};
  std::atomic<int> approved{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 64; ++i) {
    threads.emplace_back([&, i] {
      auto r = pay("hot-" + std::to_string(i), cards[i % 4], "bp-cafe", 1'000 + 100 * i, "2020-03-02T10:00:00+09:00");
      if (r.body["decision"] == "approved") {
        ++approved;
        charged += r.body["charged"].get<long long>();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(approved.load(), 64);
  EXPECT_EQ(charged.load(), 64 * 1'000 + 100 * (63 * 64 / 2));  // 265,600
  // m4 is the city's member: its sub-account of the payable is the city district's.
  EXPECT_EQ(admin("GET", "/v1/merchants/bp-cafe").body["payable"], 265'600);
  EXPECT_EQ(scalar("SELECT sum(charged) FROM payments WHERE merchant_id = 'bp-cafe'"), 265'600);
  EXPECT_EQ(run_evoucher({"verify"}, {{"EVOUCHER_DATABASE_URL", url}}).exit_code, 0);
}

// The service dies right after a group's commit, before any answer leaves: the caller saw
// nothing, and its retry gets the committed answer, not a second payment.
TEST_F(Contract, KilledAfterCommitBeforeAnsweringReplaysTheCommittedAnswer) {
  ASSERT_EQ(load("m1", 100'000, "kill-load").status, 201);
  server.reset();
  server = std::make_unique<ServeProcess>(url, std::map<std::string, std::string>{
                                                   {"EVOUCHER_ADMIN_TOKEN", kAdminToken},
                                                   {"EVOUCHER_PROCESSOR_SECRET", kSecret},
                                                   {"EVOUCHER_FAULT_KILL_AFTER_COMMIT", "1"}});
  EXPECT_THROW(pay("killed", "c1", "bp-cafe", 12'000, "2020-03-02T10:00:00+09:00"), std::runtime_error);
  EXPECT_EQ(server->stop(), 128 + SIGKILL);
  EXPECT_EQ(scalar("SELECT count(*) FROM payments WHERE event_id = 'killed'"), 1);

  server = std::make_unique<ServeProcess>(url, std::map<std::string, std::string>{
                                                   {"EVOUCHER_ADMIN_TOKEN", kAdminToken},
                                                   {"EVOUCHER_PROCESSOR_SECRET", kSecret}});
  const auto replay = pay("killed", "c1", "bp-cafe", 12'000, "2020-03-02T10:00:00+09:00");
  EXPECT_EQ(replay.status, 200);
  EXPECT_EQ(replay.body["decision"], "approved");
  EXPECT_EQ(replay.body["charged"], 12'000);
  EXPECT_EQ(replay.body["payment_id"],
            "pay-bupyeong-" + std::to_string(scalar("SELECT id FROM payments WHERE event_id = 'killed'")));
  EXPECT_EQ(pay("killed", "c1", "bp-cafe", 12'000, "2020-03-02T10:00:00+09:00").body, replay.body);
  EXPECT_EQ(scalar("SELECT count(*) FROM payments WHERE event_id = 'killed'"), 1);
  EXPECT_EQ(admin("GET", "/v1/members/m1").body["cash"], 88'000);
}

// Backpressure: with the writer stuck on a lock and its queue full, a payment is refused at once.
TEST_F(Contract, AFullGroupQueueAnswers503WithRetryAfterAtOnce) {
  server.reset();
  server = std::make_unique<ServeProcess>(url, std::map<std::string, std::string>{
                                                   {"EVOUCHER_ADMIN_TOKEN", kAdminToken},
                                                   {"EVOUCHER_PROCESSOR_SECRET", kSecret},
                                                   {"EVOUCHER_GROUP_WRITERS", "1"},
                                                   {"EVOUCHER_GROUP_QUEUE_LIMIT", "1"}});
  pqxx::connection holder(url);
  pqxx::work lock(holder);
  lock.exec("SELECT pg_advisory_xact_lock(member_lock_key('m1'))");  // m1's money held
  Answer first, second;
  std::thread a([&] { first = pay("bp-1", "c1", "bp-cafe", 1'000, "2020-03-02T10:00:00+09:00"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the writer has taken it, and waits for m1
  std::thread b([&] { second = pay("bp-2", "c2", "bp-cafe", 1'000, "2020-03-02T10:00:00+09:00"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // queued: the queue is full
  const auto started = std::chrono::steady_clock::now();
  const auto refused = pay("bp-3", "c3", "bp-cafe", 1'000, "2020-03-02T10:00:00+09:00");
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(refused.body["code"], "unavailable");
  // No throw before the joins below: a joinable thread's destructor would abort the whole run.
  EXPECT_EQ(refused.headers.count("retry-after") ? refused.headers.at("retry-after") : "(none)", "1");
  EXPECT_LT(took, std::chrono::milliseconds(200));
  lock.commit();
  a.join();
  b.join();
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.body["reason"], "insufficient_funds");
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(second.body["reason"], "insufficient_funds");
  // The refused request was never judged: nothing is stored under its key.
  EXPECT_EQ(scalar("SELECT count(*) FROM processor_events WHERE event_id = 'bp-3'"), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM processor_events WHERE endpoint = 'payment' AND event_id IN ('bp-1', 'bp-2') "
                   "AND decision = 'declined' AND reason = 'insufficient_funds'"),
            2);
}

TEST_F(Contract, MonthlyCapIsNeverOverUsedConcurrently) {
  // Two cards of one member; 40 payments of 50,000 = 2,000,000 of spend against a 1,000,000 cap.
  ASSERT_EQ(admin("POST", "/v1/cards", {{"token", "c1b"}, {"member", "m1"}}).status, 201);
  ASSERT_EQ(load("m1", 1'000'000, "cap-1", "2020-03-01T09:00:00+09:00").status, 201);
  ASSERT_EQ(load("m1", 1'000'000, "cap-2", "2020-04-01T09:00:00+09:00").status, 201);
  std::vector<std::thread> threads;
  std::atomic<long long> city{0}, charged{0};
  for (int i = 0; i < 40; ++i) {
    threads.emplace_back([&, i] {
      auto r = pay("cap-" + std::to_string(i), i % 2 ? "c1" : "c1b", "bp-cafe", 50'000, "2020-03-15T10:00:00+09:00");
      if (r.body["decision"] == "approved") {
        city += r.body["cashback"]["city"].get<long long>();
        charged += r.body["charged"].get<long long>();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(charged.load(), 2'000'000);
  EXPECT_EQ(city.load(), 50'000 + 5'000);  // 10 % of 500,000 + 1 % of the next 500,000, and nothing past the cap
  EXPECT_EQ(admin("GET", "/v1/members/m1?month=2020-03").body["month"]["eligible_spent"], 1'000'000);
  EXPECT_EQ(scalar("SELECT sum(eligible) FROM payments"), 1'000'000);
}

TEST_F(Contract, SigtermLetsAnInFlightRequestFinish) {
  // A transaction of the test's own holds a lock the request needs, so the request is in
  // flight when SIGTERM arrives: the service answers it, then exits 0.
  pqxx::connection blocker(url);
  pqxx::work lock(blocker);
  lock.exec("LOCK TABLE districts IN ACCESS EXCLUSIVE MODE");
  std::optional<Answer> answered;
  std::thread client([&] { answered = admin("GET", "/v1/districts"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::thread stopper([&] { EXPECT_EQ(server->stop(), 0); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  lock.abort();
  client.join();
  stopper.join();
  ASSERT_TRUE(answered);
  EXPECT_EQ(answered->status, 200);
  EXPECT_EQ(answered->body["districts"].size(), 3u);
}

// A flood of bad tokens or signatures is refused on the I/O thread: it never fills the database
// workers' queue, so it never turns other calls into 503s.
TEST_F(Contract, BadCredentialsNeverQueueForTheDatabase) {
  ServeProcess one_worker(url, {{"EVOUCHER_ADMIN_TOKEN", kAdminToken},
                                {"EVOUCHER_PROCESSOR_SECRET", kSecret},
                                {"EVOUCHER_DB_WORKERS", "1"},
                                {"EVOUCHER_DB_QUEUE_LIMIT", "1"},
                                {"EVOUCHER_STATEMENT_TIMEOUT_MS", "30000"}});
  const std::string good = token("district_admin", "bupyeong");
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // the token directory has read it
  // The one worker waits on a lock the test holds.
  pqxx::connection holder(url);
  pqxx::work lock(holder);
  lock.exec("LOCK TABLE districts IN ACCESS EXCLUSIVE MODE");
  HttpResult blocked;
  std::thread waiting([&] {
    blocked = http_request(one_worker.port(), "GET", "/v1/districts", "", {{"Authorization", "Bearer " + good}});
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  int unauthenticated = 0, unavailable = 0;
  std::vector<std::thread> flood;
  std::mutex counts;
  for (int i = 0; i < 10; ++i)
    flood.emplace_back([&, i] {
      const auto r = http_request(one_worker.port(), "GET", "/v1/districts", "",
                                  {{"Authorization", "Bearer not-a-token-" + std::to_string(i)}});
      std::lock_guard g(counts);
      if (r.status == 401) ++unauthenticated;
      if (r.status == 503) ++unavailable;
    });
  const std::string raw = R"({"event_id":"s-1","merchant":"bp-cafe","business_date":"2020-03-02","amount":1})";
  const auto forged = http_request(one_worker.port(), "POST", "/v1/processor/settlements", raw,
                                   {{"X-Evoucher-Signature", "t=1,v1=00"}, {"Content-Type", "application/json"}});
  EXPECT_EQ(forged.status, 401);
  // Nine are refused at once; one is being looked up, behind the blocked call.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard g(counts);
      if (unauthenticated + unavailable >= 9) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  {
    std::lock_guard g(counts);
    EXPECT_EQ(unauthenticated, 9);
    EXPECT_EQ(unavailable, 0);
  }
  lock.commit();
  waiting.join();
  for (auto& t : flood) t.join();
  EXPECT_EQ(blocked.status, 200);
  EXPECT_EQ(unauthenticated, 10);
  EXPECT_EQ(unavailable, 0);
}

// Past the shutdown grace period, a call still queued for a database worker is not run: nobody
// would hear its answer.
TEST_F(Contract, QueuedWorkIsDroppedAfterTheShutdownGrace) {
  auto stopping = std::make_unique<ServeProcess>(url, std::map<std::string, std::string>{
                                                          {"EVOUCHER_ADMIN_TOKEN", kAdminToken},
                                                          {"EVOUCHER_DB_WORKERS", "1"},
                                                          {"EVOUCHER_SHUTDOWN_GRACE_MS", "300"},
                                                          {"EVOUCHER_STATEMENT_TIMEOUT_MS", "30000"}});
  const std::map<std::string, std::string> auth{{"Authorization", std::string("Bearer ") + kAdminToken},
                                                {"Content-Type", "application/json"}};
  pqxx::connection holder(url);
  pqxx::work lock(holder);
  lock.exec("LOCK TABLE districts IN ACCESS EXCLUSIVE MODE");
  const int port = stopping->port();
  auto quietly = [&](const std::string& method, const std::string& path, const std::string& body) {
    try {
      return http_request(port, method, path, body, auth).status;
    } catch (const std::exception&) {
      return 0;  // the connection was closed unanswered
    }
  };
  std::thread running([&] { quietly("GET", "/v1/districts", ""); });  // takes the one worker, and waits
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  int queued_status = -1;
  std::thread queued([&] { queued_status = quietly("POST", "/v1/members", R"({"id":"m-late","district":"bupyeong"})"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  int exit_status = -1;
  std::thread stopper([&] { exit_status = stopping->stop(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(900));  // well past the grace period
  lock.commit();
  stopper.join();
  running.join();
  queued.join();
  EXPECT_EQ(exit_status, 0);
  EXPECT_NE(queued_status, 201);
  EXPECT_EQ(scalar("SELECT count(*) FROM members WHERE id = 'm-late'"), 0);
}

}  // namespace
}  // namespace evoucher::testing
